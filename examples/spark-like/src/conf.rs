//! Configuration the way Spark users write it: `spark.*` keys given as
//! `--conf key=value` or in a properties file (spark-defaults.conf: one
//! `key value`, `key=value` or `key: value` per line, `#` comments), read
//! into one typed [`SparkConf`]. A bad value is a [`ConfError`] naming the
//! key (and the file's line); an unknown `spark.*` key is kept and listed
//! by [`SparkConf::ignored`], as Spark warns about it; a key outside
//! `spark.*` is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// `--conf` without `=`.
    #[error("--conf {0:?}: expected key=value")]
    NotKeyValue(String),
    /// A key that is not a Spark property.
    #[error("{0:?} is not a Spark property (they start with `spark.`)")]
    NotSpark(String),
    /// A value that does not parse for its key.
    #[error("{key}={value:?}: expected {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The value given (truncated to 80 characters).
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// The properties file could not be read.
    #[error("cannot read the properties file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the properties file is wrong.
    #[error("{path}:{line}: {source}")]
    Line {
        /// The file.
        path: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// What is wrong there.
        source: Box<ConfError>,
    },
}

/// `spark.mesos.constraints`: every attribute named must be present on
/// the agent, and when values are listed, have one of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Constraints(Vec<(String, Vec<String>)>);

impl Constraints {
    /// Parses `os:linux;zone:a,b;gpu` (an attribute alone: present with any value).
    pub fn parse(text: &str) -> Result<Constraints, ConfError> {
        let bad = || bad_value("spark.mesos.constraints", text, "attr:v1,v2;attr2:v3");
        let mut out = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, values) = match part.split_once(':') {
                Some((name, values)) => {
                    let values: Vec<String> =
                        values.split(',').map(|v| v.trim().to_owned()).collect();
                    if values.iter().any(String::is_empty) {
                        return Err(bad());
                    }
                    (name.trim(), values)
                }
                None => (part, Vec::new()),
            };
            if name.is_empty() {
                return Err(bad());
            }
            out.push((name.to_owned(), values));
        }
        Ok(Constraints(out))
    }

    /// True when an agent with these attributes satisfies every constraint.
    pub fn matches<'a>(&self, attribute: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|(name, values)| match attribute(name) {
            None => false,
            Some(v) => values.is_empty() || values.iter().any(|want| want == v),
        })
    }

    /// True when there is no constraint.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every setting the framework reads, typed, with Spark's defaults where
/// Spark has one.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkConf {
    /// `spark.mesos.coarse` (default true): executors held for the job;
    /// false: one SDK task per batch task.
    pub coarse: bool,
    /// `spark.cores.max` (default: no limit): cpus held at once.
    pub cores_max: Option<f64>,
    /// `spark.executor.cores` (default 2).
    pub executor_cores: f64,
    /// `spark.executor.memory` in MiB (default 1g).
    pub executor_memory_mb: f64,
    /// `spark.task.cpus` (default 1).
    pub task_cpus: f64,
    /// `spark.mesos.mesosExecutor.cores` (default 1, as Spark's): fine
    /// mode's per-agent executor holds these cpus of its own, beside its
    /// tasks', while any of its tasks runs.
    pub mesos_executor_cores: f64,
    /// `spark.mesos.constraints`.
    pub constraints: Constraints,
    /// `spark.mesos.role` (default `spark`).
    pub role: String,
    /// `spark.mesos.rejectOfferDuration` (default 120 s): the filter of an
    /// offer declined because nothing is pending.
    pub reject_offer_duration: Duration,
    /// `spark.mesos.rejectOfferDurationForUnmetConstraints` (default: the above).
    pub reject_for_unmet_constraints: Duration,
    /// `spark.mesos.rejectOfferDurationForReachedMaxCores` (default: the above).
    pub reject_for_reached_max_cores: Duration,
    /// `spark.locality.wait` (default 3 s).
    pub locality_wait: Duration,
    /// `spark.task.maxFailures` (default 4): attempts of one task before the job fails.
    pub task_max_failures: u32,
    /// `spark.excludeOnFailure.enabled` (default false).
    pub exclude_on_failure: bool,
    /// `spark.excludeOnFailure.application.maxFailedTasksPerExecutor`
    /// (default 2): failed tasks on one agent before it is excluded.
    pub exclude_after_failures: u32,
    /// `spark.speculation` (default false).
    pub speculation: bool,
    /// `spark.speculation.multiplier` (default 1.5).
    pub speculation_multiplier: f64,
    /// `spark.speculation.quantile` (default 0.75).
    pub speculation_quantile: f64,
    /// `spark.speculation.interval` (default 100 ms).
    pub speculation_interval: Duration,
    /// `spark.dynamicAllocation.enabled` (default false).
    pub dynamic_allocation: bool,
    /// `spark.dynamicAllocation.executorIdleTimeout` (default 60 s).
    pub executor_idle_timeout: Duration,
    /// `spark.dynamicAllocation.minExecutors` (default 0).
    pub min_executors: usize,
    /// `spark.dynamicAllocation.maxExecutors` (default: no limit).
    pub max_executors: Option<usize>,
    /// `spark.default.parallelism` (default 8): reduce partitions of a shuffle.
    pub default_parallelism: usize,
    /// `spark.corral.revocable` (ours; default false): tasks (fine mode) or
    /// executors (coarse mode) may use revocable resources.
    pub revocable: bool,
    /// Keys under `spark.` this framework does not read.
    ignored: Vec<String>,
}

impl Default for SparkConf {
    fn default() -> Self {
        let reject = Duration::from_secs(120);
        SparkConf {
            coarse: true,
            cores_max: None,
            executor_cores: 2.0,
            executor_memory_mb: 1024.0,
            task_cpus: 1.0,
            mesos_executor_cores: 1.0,
            constraints: Constraints::default(),
            role: "spark".to_owned(),
            reject_offer_duration: reject,
            reject_for_unmet_constraints: reject,
            reject_for_reached_max_cores: reject,
            locality_wait: Duration::from_secs(3),
            task_max_failures: 4,
            exclude_on_failure: false,
            exclude_after_failures: 2,
            speculation: false,
            speculation_multiplier: 1.5,
            speculation_quantile: 0.75,
            speculation_interval: Duration::from_millis(100),
            dynamic_allocation: false,
            executor_idle_timeout: Duration::from_secs(60),
            min_executors: 0,
            max_executors: None,
            default_parallelism: 8,
            revocable: false,
            ignored: Vec::new(),
        }
    }
}

fn bad_value(key: &str, value: &str, expected: &'static str) -> ConfError {
    ConfError::BadValue {
        key: key.to_owned(),
        value: value.chars().take(80).collect(),
        expected,
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfError> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad_value(key, v, "true or false")),
    }
}

fn parse_positive(key: &str, v: &str) -> Result<f64, ConfError> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1e6 => Ok(x),
        _ => Err(bad_value(key, v, "a positive number")),
    }
}

fn parse_count(key: &str, v: &str, min: u64) -> Result<u64, ConfError> {
    match v.parse::<u64>() {
        Ok(x) if x >= min && x <= 1_000_000 => Ok(x),
        _ => Err(bad_value(key, v, "a whole number in range")),
    }
}

/// A Spark time value: `100ms`, `3s`, `2min`, `1h`, `1d`; a bare number is
/// in `bare` units (Spark's default unit for that key).
pub fn parse_duration(key: &str, v: &str, bare: Duration) -> Result<Duration, ConfError> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let unit_len = match unit.trim() {
        "" => bare,
        "us" => Duration::from_micros(1),
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" | "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        "d" => Duration::from_secs(86400),
        _ => return Err(bad_value(key, v, "a time such as 100ms, 5s, 2min")),
    };
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 && x * unit_len.as_secs_f64() <= 365.0 * 86400.0 => {
            Ok(unit_len.mul_f64(x))
        }
        _ => Err(bad_value(key, v, "a time such as 100ms, 5s, 2min")),
    }
}

/// A Spark size in MiB: `512m`, `2g`, `1t`, `1024k`; a bare number is MiB.
pub fn parse_mem_mb(key: &str, v: &str) -> Result<f64, ConfError> {
    let v = v.trim().to_ascii_lowercase();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let scale = match unit.trim_end_matches('b') {
        "" | "m" => 1.0,
        "k" => 1.0 / 1024.0,
        "g" => 1024.0,
        "t" => 1024.0 * 1024.0,
        _ => return Err(bad_value(key, &v, "a size such as 512m or 2g")),
    };
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x * scale <= 1e9 => Ok(x * scale),
        _ => Err(bad_value(key, &v, "a size such as 512m or 2g")),
    }
}

impl SparkConf {
    /// Sets one property.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfError> {
        let key = key.trim();
        let v = value.trim();
        let secs = Duration::from_secs(1);
        let ms = Duration::from_millis(1);
        match key {
            "spark.mesos.coarse" => self.coarse = parse_bool(key, v)?,
            "spark.cores.max" => self.cores_max = Some(parse_positive(key, v)?),
            "spark.executor.cores" => self.executor_cores = parse_positive(key, v)?,
            "spark.executor.memory" => self.executor_memory_mb = parse_mem_mb(key, v)?,
            "spark.task.cpus" => self.task_cpus = parse_positive(key, v)?,
            "spark.mesos.mesosExecutor.cores" => match v.parse::<f64>() {
                Ok(c) if c.is_finite() && (0.0..=1024.0).contains(&c) => {
                    self.mesos_executor_cores = c
                }
                _ => return Err(bad_value(key, v, "a number of cpus, 0 or more")),
            },
            "spark.mesos.constraints" => self.constraints = Constraints::parse(v)?,
            "spark.mesos.role" => {
                if v.is_empty()
                    || v.len() > 128
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
                {
                    return Err(bad_value(key, v, "a role name such as spark or eng/batch"));
                }
                self.role = v.to_owned();
            }
            "spark.mesos.rejectOfferDuration" => {
                let d = parse_duration(key, v, secs)?;
                // The two variants default to this one unless set.
                if self.reject_for_unmet_constraints == self.reject_offer_duration {
                    self.reject_for_unmet_constraints = d;
                }
                if self.reject_for_reached_max_cores == self.reject_offer_duration {
                    self.reject_for_reached_max_cores = d;
                }
                self.reject_offer_duration = d;
            }
            "spark.mesos.rejectOfferDurationForUnmetConstraints" => {
                self.reject_for_unmet_constraints = parse_duration(key, v, secs)?
            }
            "spark.mesos.rejectOfferDurationForReachedMaxCores" => {
                self.reject_for_reached_max_cores = parse_duration(key, v, secs)?
            }
            "spark.locality.wait" => self.locality_wait = parse_duration(key, v, ms)?,
            "spark.task.maxFailures" => self.task_max_failures = parse_count(key, v, 1)? as u32,
            "spark.excludeOnFailure.enabled" => self.exclude_on_failure = parse_bool(key, v)?,
            "spark.excludeOnFailure.application.maxFailedTasksPerExecutor" => {
                self.exclude_after_failures = parse_count(key, v, 1)? as u32
            }
            "spark.speculation" => self.speculation = parse_bool(key, v)?,
            "spark.speculation.multiplier" => {
                let m = parse_positive(key, v)?;
                if m < 1.0 {
                    return Err(bad_value(key, v, "a number of at least 1"));
                }
                self.speculation_multiplier = m;
            }
            "spark.speculation.quantile" => match v.parse::<f64>() {
                Ok(q) if q > 0.0 && q <= 1.0 => self.speculation_quantile = q,
                _ => return Err(bad_value(key, v, "a fraction in (0, 1]")),
            },
            "spark.speculation.interval" => {
                let d = parse_duration(key, v, ms)?;
                if d < Duration::from_millis(1) {
                    return Err(bad_value(key, v, "at least 1ms"));
                }
                self.speculation_interval = d;
            }
            "spark.dynamicAllocation.enabled" => self.dynamic_allocation = parse_bool(key, v)?,
            "spark.dynamicAllocation.executorIdleTimeout" => {
                self.executor_idle_timeout = parse_duration(key, v, secs)?
            }
            "spark.dynamicAllocation.minExecutors" => {
                self.min_executors = parse_count(key, v, 0)? as usize
            }
            "spark.dynamicAllocation.maxExecutors" => {
                self.max_executors = Some(parse_count(key, v, 1)? as usize)
            }
            "spark.default.parallelism" => {
                self.default_parallelism = parse_count(key, v, 1)? as usize
            }
            "spark.corral.revocable" => self.revocable = parse_bool(key, v)?,
            k if k.starts_with("spark.") => self.ignored.push(k.chars().take(80).collect()),
            k => return Err(ConfError::NotSpark(k.chars().take(80).collect())),
        }
        Ok(())
    }

    /// Sets `key=value` as given to `--conf`.
    pub fn set_arg(&mut self, arg: &str) -> Result<(), ConfError> {
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| ConfError::NotKeyValue(arg.chars().take(80).collect()))?;
        self.set(key, value)
    }

    /// Reads a properties file (spark-defaults.conf) into this configuration.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ConfError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.load_str(&text)
            .map_err(|(line, source)| ConfError::Line {
                path: path.to_owned(),
                line,
                source: Box::new(source),
            })
    }

    /// Reads the text of a properties file; an error comes with its line.
    pub fn load_str(&mut self, text: &str) -> Result<(), (usize, ConfError)> {
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let split = line
                .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
                .ok_or_else(|| {
                    (
                        index + 1,
                        ConfError::NotKeyValue(line.chars().take(80).collect()),
                    )
                })?;
            let (key, rest) = line.split_at(split);
            let rest = rest.trim_start();
            let value = rest
                .strip_prefix('=')
                .or_else(|| rest.strip_prefix(':'))
                .unwrap_or(rest);
            self.set(key, value).map_err(|e| (index + 1, e))?;
        }
        Ok(())
    }

    /// `spark.*` keys that were given but are not read here.
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// Memory of one task in fine mode: the executor's memory per core.
    pub fn task_memory_mb(&self) -> f64 {
        (self.executor_memory_mb / self.executor_cores * self.task_cpus).max(32.0)
    }

    /// Task slots in one executor.
    pub fn slots_per_executor(&self) -> usize {
        ((self.executor_cores / self.task_cpus) + 1e-9)
            .floor()
            .max(1.0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_names_set_typed_fields() {
        let mut conf = SparkConf::default();
        for arg in [
            "spark.mesos.coarse=false",
            "spark.cores.max=12",
            "spark.executor.memory=2g",
            "spark.mesos.constraints=os:linux;zone:a,b",
            "spark.mesos.rejectOfferDuration=30s",
            "spark.mesos.rejectOfferDurationForReachedMaxCores=2min",
            "spark.locality.wait=500",
            "spark.mesos.mesosExecutor.cores=0.5",
            "spark.unknown.thing=1",
        ] {
            conf.set_arg(arg).unwrap();
        }
        assert!(!conf.coarse);
        assert_eq!(conf.cores_max, Some(12.0));
        assert_eq!(conf.executor_memory_mb, 2048.0);
        assert_eq!(conf.reject_offer_duration, Duration::from_secs(30));
        assert_eq!(conf.reject_for_unmet_constraints, Duration::from_secs(30));
        assert_eq!(conf.reject_for_reached_max_cores, Duration::from_secs(120));
        assert_eq!(conf.locality_wait, Duration::from_millis(500));
        assert_eq!(conf.mesos_executor_cores, 0.5);
        assert!(conf.set("spark.mesos.mesosExecutor.cores", "-1").is_err());
        assert_eq!(conf.ignored(), ["spark.unknown.thing"]);
        let attrs = |os: &'static str, zone: &'static str| {
            move |name: &str| match name {
                "os" => Some(os),
                "zone" => Some(zone),
                _ => None,
            }
        };
        assert!(conf.constraints.matches(attrs("linux", "b")));
        assert!(!conf.constraints.matches(attrs("linux", "c")));
        assert!(!conf.constraints.matches(|_| None));
    }

    #[test]
    fn bad_values_are_typed_errors_naming_the_key() {
        let mut conf = SparkConf::default();
        for arg in [
            "spark.cores.max=-1",
            "spark.mesos.coarse=yes",
            "spark.executor.memory=lots",
            "spark.locality.wait=3 fortnights",
            "spark.speculation.quantile=2",
            "spark.mesos.constraints=zone:",
        ] {
            let key = arg.split('=').next().unwrap();
            match conf.set_arg(arg) {
                Err(ConfError::BadValue { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{arg}: {other:?}"),
            }
        }
        assert!(matches!(
            conf.set_arg("hadoop.x=1"),
            Err(ConfError::NotSpark(_))
        ));
        assert!(matches!(
            conf.set_arg("spark.cores.max"),
            Err(ConfError::NotKeyValue(_))
        ));
        assert_eq!(
            conf,
            SparkConf::default(),
            "a refused value changes nothing"
        );
    }

    #[test]
    fn a_properties_file_reads_like_spark_defaults_and_names_the_bad_line() {
        let mut conf = SparkConf::default();
        conf.load_str("# defaults\nspark.executor.cores   4\nspark.task.maxFailures=2\nspark.speculation: true\n")
            .unwrap();
        assert_eq!(conf.executor_cores, 4.0);
        assert_eq!(conf.task_max_failures, 2);
        assert!(conf.speculation);
        let err = conf
            .load_str("spark.task.cpus 1\n\nspark.task.cpus zero\n")
            .unwrap_err();
        assert_eq!(err.0, 3);
    }
}
