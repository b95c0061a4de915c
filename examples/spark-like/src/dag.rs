//! Jobs as DAGs of stages: what a job is ([`JobSpec`]: stages, their
//! partitions, the stages each reads through a shuffle), the two built-in
//! jobs (word count, synthetic) and the command-line forms of synthetic
//! durations and stragglers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::conf::parse_duration;
use crate::work::{split_text, Rng};

/// A job description that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A duration distribution that does not parse.
    #[error("--duration {0:?}: expected 50ms, uniform:20ms-80ms or exp:50ms")]
    Duration(String),
    /// A straggler description that does not parse.
    #[error("--stragglers {0:?}: expected FRACTIONxFACTOR, e.g. 0.01x10")]
    Stragglers(String),
    /// No stage, or a stage of no task.
    #[error("--tasks {0:?}: expected task counts per stage, e.g. 10000,1000 (each 1..=1000000)")]
    Tasks(String),
    /// The input could not be read.
    #[error("cannot read input {path}: {source}")]
    Input {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input is larger than this framework holds in memory.
    #[error("input {path} is {bytes} bytes; at most {limit} are read")]
    InputTooLarge {
        /// The file or directory.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// How long synthetic tasks run.
#[derive(Clone, Debug, PartialEq)]
pub enum DurationDist {
    /// Every task the same.
    Fixed(Duration),
    /// Uniform between the two.
    Uniform(Duration, Duration),
    /// Exponential with this mean (capped at 20 times the mean).
    Exp(Duration),
}

impl DurationDist {
    /// Parses `50ms`, `uniform:20ms-80ms`, `exp:50ms`.
    pub fn parse(text: &str) -> Result<Self, JobError> {
        let err = || JobError::Duration(text.chars().take(80).collect());
        let d =
            |t: &str| parse_duration("--duration", t, Duration::from_millis(1)).map_err(|_| err());
        if let Some(range) = text.strip_prefix("uniform:") {
            let (a, b) = range.split_once('-').ok_or_else(err)?;
            let (a, b) = (d(a)?, d(b)?);
            if a > b {
                return Err(err());
            }
            Ok(DurationDist::Uniform(a, b))
        } else if let Some(mean) = text.strip_prefix("exp:") {
            Ok(DurationDist::Exp(d(mean)?))
        } else {
            Ok(DurationDist::Fixed(d(text)?))
        }
    }

    fn sample(&self, rng: &mut Rng) -> Duration {
        match self {
            DurationDist::Fixed(d) => *d,
            DurationDist::Uniform(a, b) => *a + (*b - *a).mul_f64(rng.next_f64()),
            DurationDist::Exp(mean) => {
                let x = -(1.0 - rng.next_f64()).ln();
                mean.mul_f64(x.min(20.0))
            }
        }
    }
}

/// Some tasks run much longer than the others.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stragglers {
    /// The fraction of tasks that straggle.
    pub fraction: f64,
    /// How many times longer they run.
    pub factor: f64,
}

impl Stragglers {
    /// Parses `0.01x10`.
    pub fn parse(text: &str) -> Result<Self, JobError> {
        let err = || JobError::Stragglers(text.chars().take(80).collect());
        let (f, k) = text.split_once('x').ok_or_else(err)?;
        let fraction: f64 = f.parse().map_err(|_| err())?;
        let factor: f64 = k.parse().map_err(|_| err())?;
        if !(0.0..=1.0).contains(&fraction) || !(1.0..=1000.0).contains(&factor) {
            return Err(err());
        }
        Ok(Stragglers { fraction, factor })
    }
}

/// What the tasks of a stage do.
#[derive(Clone, Debug)]
pub enum StageKind {
    /// Synthetic tasks: each partition's time (ms) on its first attempts,
    /// and without the straggling, which a speculative copy runs.
    Synthetic {
        /// Time by partition, stragglers included.
        ms: Vec<u64>,
        /// Time by partition, without straggling.
        base: Vec<u64>,
    },
    /// Word count's map side: one text partition each, shuffled to `reducers`.
    WordMap {
        /// The input's partitions.
        parts: Arc<Vec<String>>,
        /// Partitions of the stage that reads this one.
        reducers: u32,
    },
    /// Word count's reduce side: partition r sums bucket r of every map output.
    WordReduce,
}

/// One stage of a job.
#[derive(Clone, Debug)]
pub struct StageSpec {
    /// What the report calls it.
    pub name: String,
    /// Its tasks (one per partition).
    pub partitions: usize,
    /// The stages it reads through a shuffle (all must be complete first).
    pub parents: Vec<usize>,
    /// What its tasks do.
    pub kind: StageKind,
    /// Input locality: the hosts holding each partition's input (empty:
    /// no preference). Only a stage without parents reads input.
    pub input_hosts: Vec<Vec<String>>,
}

/// A job: stages in an order where parents come first.
#[derive(Clone, Debug)]
pub struct JobSpec {
    /// Its name, for the report.
    pub name: String,
    /// Its stages.
    pub stages: Vec<StageSpec>,
}

impl JobSpec {
    /// Word count over `text`: `maps` map tasks, `reducers` reduce tasks.
    pub fn word_count(text: &str, maps: usize, reducers: usize) -> JobSpec {
        let parts = Arc::new(split_text(text, maps.max(1)));
        let reducers = reducers.clamp(1, 10_000);
        JobSpec {
            name: "wordcount".into(),
            stages: vec![
                StageSpec {
                    name: "map (read, split, count)".into(),
                    partitions: parts.len(),
                    parents: vec![],
                    kind: StageKind::WordMap {
                        parts,
                        reducers: reducers as u32,
                    },
                    input_hosts: Vec::new(),
                },
                StageSpec {
                    name: "reduce (sum, write part-NNNNN)".into(),
                    partitions: reducers,
                    parents: vec![0],
                    kind: StageKind::WordReduce,
                    input_hosts: Vec::new(),
                },
            ],
        }
    }

    /// A chain of synthetic stages, each reading the one before through a
    /// shuffle, with task counts `tasks`, durations drawn from `dist` and
    /// stragglers, from `seed`.
    pub fn synthetic(
        tasks: &[usize],
        dist: &DurationDist,
        stragglers: Option<Stragglers>,
        seed: u64,
    ) -> JobSpec {
        let mut rng = Rng::new(seed);
        let stages = tasks
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let mut ms = Vec::with_capacity(n);
                let mut base = Vec::with_capacity(n);
                for _ in 0..n {
                    let d = dist.sample(&mut rng);
                    base.push(d.as_millis() as u64);
                    let straggles = stragglers.filter(|s| rng.next_f64() < s.fraction);
                    ms.push(straggles.map_or(d, |s| d.mul_f64(s.factor)).as_millis() as u64);
                }
                StageSpec {
                    name: format!("(synthetic, {n} tasks)"),
                    partitions: n,
                    parents: if i == 0 { vec![] } else { vec![i - 1] },
                    kind: StageKind::Synthetic { ms, base },
                    input_hosts: Vec::new(),
                }
            })
            .collect();
        JobSpec {
            name: "synthetic".into(),
            stages,
        }
    }

    /// Places the input of every stage without parents on `hosts`, as a
    /// distributed file system's blocks: partition `p` on `replicas` hosts
    /// from `hosts[p % n]` on. Its tasks then prefer those hosts for up to
    /// `spark.locality.wait`. No hosts: no preference.
    pub fn with_input_on(mut self, hosts: &[String], replicas: usize) -> JobSpec {
        let n = hosts.len();
        let replicas = replicas.clamp(1, n.max(1));
        for stage in self.stages.iter_mut().filter(|s| s.parents.is_empty()) {
            stage.input_hosts = if n == 0 {
                Vec::new()
            } else {
                (0..stage.partitions)
                    .map(|p| (0..replicas).map(|k| hosts[(p + k) % n].clone()).collect())
                    .collect()
            };
        }
        self
    }

    /// Total tasks of the job (without retries).
    pub fn tasks(&self) -> usize {
        self.stages.iter().map(|s| s.partitions).sum()
    }
}

/// Parses `10000,1000` into task counts per stage.
pub fn parse_tasks(text: &str) -> Result<Vec<usize>, JobError> {
    let err = || JobError::Tasks(text.chars().take(80).collect());
    let counts: Vec<usize> = text
        .split(',')
        .map(|t| t.trim().parse::<usize>().map_err(|_| err()))
        .collect::<Result<_, _>>()?;
    if counts.is_empty() || counts.len() > 100 || counts.iter().any(|&n| n == 0 || n > 1_000_000) {
        return Err(err());
    }
    Ok(counts)
}

/// At most this many bytes of input are read.
pub const MAX_INPUT: u64 = 512 << 20;

/// Reads a file, or every file of a directory (sorted by name, not
/// recursive, hidden files skipped), as one text.
pub fn read_input(path: &std::path::Path) -> Result<String, JobError> {
    let io = |source| JobError::Input {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let files: Vec<PathBuf> = if meta.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter(|e| !e.file_name().to_string_lossy().starts_with(['.', '_']))
            .map(|e| e.path())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    let mut total = 0u64;
    for f in &files {
        total += std::fs::metadata(f).map_err(io)?.len();
    }
    if total > MAX_INPUT {
        return Err(JobError::InputTooLarge {
            path: path.to_owned(),
            bytes: total,
            limit: MAX_INPUT,
        });
    }
    let mut text = String::with_capacity(total as usize);
    for f in files {
        let bytes = std::fs::read(&f).map_err(io)?;
        text.push_str(&String::from_utf8_lossy(&bytes));
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_and_stragglers_parse_and_sample_from_the_seed() {
        assert_eq!(
            DurationDist::parse("uniform:20ms-80ms").unwrap(),
            DurationDist::Uniform(Duration::from_millis(20), Duration::from_millis(80))
        );
        assert!(DurationDist::parse("uniform:80ms-20ms").is_err());
        assert!(DurationDist::parse("normal:5").is_err());
        let s = Stragglers::parse("0.1x10").unwrap();
        let job = JobSpec::synthetic(
            &[1000],
            &DurationDist::Fixed(Duration::from_millis(50)),
            Some(s),
            1,
        );
        let StageKind::Synthetic { ms: d, .. } = &job.stages[0].kind else {
            panic!()
        };
        let slow = d.iter().filter(|&&ms| ms == 500).count();
        assert!((50..150).contains(&slow), "about 10% straggle: {slow}");
        assert!(d.iter().all(|&ms| ms == 50 || ms == 500));
        let again = JobSpec::synthetic(
            &[1000],
            &DurationDist::Fixed(Duration::from_millis(50)),
            Some(s),
            1,
        );
        let StageKind::Synthetic { ms: d2, .. } = &again.stages[0].kind else {
            panic!()
        };
        assert_eq!(d, d2);
        assert!(parse_tasks("10,0").is_err());
        assert_eq!(parse_tasks("10000,1000").unwrap(), [10000, 1000]);
    }
}
