//! The jobs file: jobs, the agent template of each label, and the
//! controller-wide limits, read from YAML and checked before anything runs.
//!
//! The shape follows what CI users know: a job has a name, the label of the
//! agents it runs on, `sh` steps, an environment, a timeout and optional
//! parameters. A label's agent template is the Mesos plugin's cloud
//! configuration: resources, attribute constraints, how many agents at
//! most, how long an idle one lives, single-use or reused, and whether it
//! may run on revocable resources. See `examples/jenkins/jobs.yaml`.
//!
//! [`JobsFile::parse`] refuses a file that would misbehave later (a job on
//! a label without a template, a cap of zero, a negative duration...) with
//! a [`ConfigError`] naming the job or label, so the controller never
//! starts on a half-valid configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use corral::{Offer, Resources};
use serde::Deserialize;

use crate::units::{Minutes, Seconds};

/// Why a jobs file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse, or does not have the expected shape.
    #[error("the jobs file does not parse: {0}")]
    Parse(#[from] serde_saphyr::Error),
    /// The file has no jobs.
    #[error("the jobs file has no jobs")]
    NoJobs,
    /// Two jobs have the same name.
    #[error("job {0:?} is defined twice")]
    DuplicateJob(String),
    /// A job name that would not work in a URL (`/job/NAME/...`).
    #[error("job name {0:?}: use letters, digits, '-', '_' and '.'")]
    BadJobName(String),
    /// A job runs on a label that has no agent template.
    #[error("job {job:?} runs on label {label:?}, which has no agent template")]
    UnknownLabel {
        /// The job.
        job: String,
        /// Its label.
        label: String,
    },
    /// A job without steps.
    #[error("job {0:?} has no steps")]
    NoSteps(String),
    /// A step's simulated duration is not a duration.
    #[error("job {job:?}, step {step}: simulated_seconds {value} is not a duration")]
    BadSeconds {
        /// The job.
        job: String,
        /// The step's index (from 1).
        step: usize,
        /// The value given.
        value: f64,
    },
    /// A template asks for no CPU or memory, or a negative amount.
    #[error("label {label:?}: {what} must be positive (got {value})")]
    BadResources {
        /// The label.
        label: String,
        /// Which resource.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A cap of zero: nothing could ever run there.
    #[error("{0}: max_agents must be at least 1")]
    ZeroCap(String),
}

/// Whether a label's agents may run on revocable resources: resources
/// another role is guaranteed but not using, lent until it wants them back
/// (then a revocation notice aborts the build and requeues it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocable {
    /// Regular resources only (the default): never taken back.
    #[default]
    Never,
    /// Revocable resources when an offer has enough, else regular ones.
    Allowed,
    /// Revocable resources only: a preemptible label.
    Only,
}

/// The agent template of one label.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentTemplate {
    /// CPUs per agent.
    pub cpus: f64,
    /// Memory per agent, MB.
    pub mem: f64,
    /// Disk per agent, MB.
    #[serde(default)]
    pub disk: f64,
    /// Agent attributes an offer must have (`os: linux`), all of them.
    #[serde(default)]
    pub constraints: BTreeMap<String, String>,
    /// At most this many agents of this label at once.
    pub max_agents: usize,
    /// An idle agent is stopped after this long without a build.
    #[serde(default = "default_idle")]
    pub idle_minutes: Minutes,
    /// One build, then the agent goes (a clean machine per build).
    #[serde(default)]
    pub single_use: bool,
    /// Whether agents may run on revocable resources.
    #[serde(default)]
    pub revocable: Revocable,
}

fn default_idle() -> Minutes {
    Minutes(5)
}

impl AgentTemplate {
    /// What one agent asks for, as regular resources.
    pub fn resources(&self) -> Resources {
        let needs = Resources::new().with_cpus(self.cpus).with_mem(self.mem);
        if self.disk > 0.0 {
            needs.with_disk(self.disk)
        } else {
            needs
        }
    }

    /// True when the offer's agent has every attribute the template asks.
    pub fn accepts_agent(&self, offer: &Offer) -> bool {
        self.constraints
            .iter()
            .all(|(name, value)| offer.attribute(name) == Some(value.as_str()))
    }

    /// The idle time before an agent is reaped.
    pub fn idle_time(&self) -> Duration {
        self.idle_minutes.into()
    }
}

/// The controller-wide settings.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cloud {
    /// The role the controller subscribes with.
    #[serde(default = "default_role")]
    pub role: String,
    /// At most this many agents at once, all labels together.
    pub max_agents: usize,
    /// An offer that fits no waiting build is declined for this long (a
    /// revive, sent when a build arrives, clears it).
    #[serde(default = "default_decline")]
    pub decline_filter_minutes: Minutes,
    /// How long an agent has to stop when asked (SIGTERM, then SIGKILL).
    #[serde(default = "default_grace")]
    pub kill_grace_seconds: Seconds,
}

fn default_role() -> String {
    "ci".into()
}

fn default_decline() -> Minutes {
    Minutes(10)
}

fn default_grace() -> Seconds {
    Seconds(5.0)
}

impl Cloud {
    /// The decline filter as a duration.
    pub fn decline_filter(&self) -> Duration {
        self.decline_filter_minutes.into()
    }

    /// The agents' kill grace period (checked by [`JobsFile::parse`]).
    pub fn kill_grace(&self) -> Duration {
        self.kill_grace_seconds.to_duration().unwrap_or_default()
    }
}

/// One `sh` step.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The shell line.
    pub sh: String,
    /// How long it takes on a simulated agent (real agents run `sh`).
    #[serde(default = "default_step")]
    pub simulated_seconds: Seconds,
    /// Its exit status on a simulated agent (0: success).
    #[serde(default)]
    pub simulated_exit: i32,
}

fn default_step() -> Seconds {
    Seconds(1.0)
}

/// A build parameter with its default.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Its name, also the environment variable the steps see.
    pub name: String,
    /// Its value when the trigger gives none.
    #[serde(default)]
    pub default: String,
}

/// A job.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Its name (in URLs: `/job/NAME/`).
    pub name: String,
    /// The label of the agents it runs on.
    pub label: String,
    /// Its steps, run in order; the first that fails fails the build.
    pub steps: Vec<Step>,
    /// Environment variables for every step.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A build still running after this long is aborted.
    #[serde(default = "default_timeout")]
    pub timeout_minutes: Minutes,
    /// Its parameters.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

fn default_timeout() -> Minutes {
    Minutes(30)
}

impl JobSpec {
    /// How long the job's steps take on a simulated agent, and the exit
    /// status of the first failing step (0 when all succeed). Steps after
    /// a failing one do not run.
    pub fn simulated_run(&self) -> (Duration, i32) {
        let mut total = Duration::ZERO;
        for step in &self.steps {
            total += step.simulated_seconds.to_duration().unwrap_or_default();
            if step.simulated_exit != 0 {
                return (total, step.simulated_exit);
            }
        }
        (total, 0)
    }

    /// The timeout as a duration.
    pub fn timeout(&self) -> Duration {
        self.timeout_minutes.into()
    }
}

/// A whole jobs file, checked.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsFile {
    /// Controller-wide settings.
    pub cloud: Cloud,
    /// The agent template of each label.
    pub templates: BTreeMap<String, AgentTemplate>,
    /// The jobs.
    pub jobs: Vec<JobSpec>,
}

impl JobsFile {
    /// Reads and checks a jobs file.
    pub fn load(path: &Path) -> Result<JobsFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        JobsFile::parse(&text)
    }

    /// Parses and checks a jobs file's text.
    pub fn parse(text: &str) -> Result<JobsFile, ConfigError> {
        let file: JobsFile = serde_saphyr::from_str(text)?;
        file.check()?;
        Ok(file)
    }

    /// The job named `name`.
    pub fn job(&self, name: &str) -> Option<&JobSpec> {
        self.jobs.iter().find(|j| j.name == name)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.jobs.is_empty() {
            return Err(ConfigError::NoJobs);
        }
        if self.cloud.max_agents == 0 {
            return Err(ConfigError::ZeroCap("cloud".into()));
        }
        if self.cloud.kill_grace_seconds.to_duration().is_none() {
            return Err(ConfigError::BadSeconds {
                job: "(cloud.kill_grace_seconds)".into(),
                step: 0,
                value: self.cloud.kill_grace_seconds.0,
            });
        }
        for (label, t) in &self.templates {
            for (what, value) in [("cpus", t.cpus), ("mem", t.mem)] {
                if !(value.is_finite() && value > 0.0) {
                    return Err(ConfigError::BadResources {
                        label: label.clone(),
                        what,
                        value,
                    });
                }
            }
            if !(t.disk.is_finite() && t.disk >= 0.0) {
                return Err(ConfigError::BadResources {
                    label: label.clone(),
                    what: "disk",
                    value: t.disk,
                });
            }
            if t.max_agents == 0 {
                return Err(ConfigError::ZeroCap(format!("label {label:?}")));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for job in &self.jobs {
            let name_ok = !job.name.is_empty()
                && job
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !name_ok {
                return Err(ConfigError::BadJobName(job.name.clone()));
            }
            if !seen.insert(job.name.as_str()) {
                return Err(ConfigError::DuplicateJob(job.name.clone()));
            }
            if !self.templates.contains_key(&job.label) {
                return Err(ConfigError::UnknownLabel {
                    job: job.name.clone(),
                    label: job.label.clone(),
                });
            }
            if job.steps.is_empty() {
                return Err(ConfigError::NoSteps(job.name.clone()));
            }
            for (i, step) in job.steps.iter().enumerate() {
                if step.simulated_seconds.to_duration().is_none() {
                    return Err(ConfigError::BadSeconds {
                        job: job.name.clone(),
                        step: i + 1,
                        value: step.simulated_seconds.0,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../jobs.yaml");

    #[test]
    fn the_shipped_jobs_file_parses_with_a_preemptible_label() {
        let file = JobsFile::parse(SHIPPED).unwrap();
        assert!(file.jobs.len() >= 3);
        assert!(file
            .templates
            .values()
            .any(|t| t.revocable == Revocable::Only));
        assert!(file
            .templates
            .values()
            .any(|t| t.revocable == Revocable::Never));
        assert_eq!(file.cloud.decline_filter(), Duration::from_secs(600));
    }

    fn minimal(job_label: &str, cap: usize) -> String {
        format!(
            "cloud: {{ max_agents: 2 }}\n\
             templates:\n  linux: {{ cpus: 1, mem: 256, max_agents: {cap} }}\n\
             jobs:\n  - name: unit\n    label: {job_label}\n    steps:\n      - sh: 'true'\n"
        )
    }

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let file = JobsFile::parse(&minimal("linux", 1)).unwrap();
        let t = &file.templates["linux"];
        assert_eq!(t.idle_time(), Duration::from_secs(300));
        assert!(!t.single_use);
        assert_eq!(t.revocable, Revocable::Never);
        assert_eq!(file.cloud.role, "ci");
        assert_eq!(file.jobs[0].timeout(), Duration::from_secs(1800));
        assert_eq!(file.jobs[0].simulated_run(), (Duration::from_secs(1), 0));
    }

    #[test]
    fn a_job_on_an_unknown_label_is_refused_by_name() {
        let err = JobsFile::parse(&minimal("arm", 1)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownLabel { job, label } if job == "unit" && label == "arm"),
            "{err}"
        );
    }

    #[test]
    fn a_cap_of_zero_is_refused() {
        let err = JobsFile::parse(&minimal("linux", 0)).unwrap_err();
        assert!(matches!(err, ConfigError::ZeroCap(_)), "{err}");
    }

    #[test]
    fn bad_yaml_and_unknown_fields_are_errors_not_panics() {
        for text in [
            "cloud: [",
            "jobs: 3",
            "cloud: { max_agents: 1, decline_filter: 10 }\ntemplates: {}\njobs: []",
        ] {
            assert!(
                matches!(JobsFile::parse(text), Err(ConfigError::Parse(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn a_simulated_run_stops_at_the_first_failing_step() {
        let text = "cloud: { max_agents: 2 }\n\
             templates:\n  linux: { cpus: 1, mem: 256, max_agents: 1 }\n\
             jobs:\n  - name: flaky\n    label: linux\n    steps:\n\
             \x20     - { sh: a, simulated_seconds: 2 }\n\
             \x20     - { sh: b, simulated_seconds: 0.5, simulated_exit: 3 }\n\
             \x20     - { sh: c, simulated_seconds: 100 }\n";
        let file = JobsFile::parse(text).unwrap();
        assert_eq!(
            file.jobs[0].simulated_run(),
            (Duration::from_millis(2500), 3)
        );
    }
}
