//! The mock master's configuration file, in TOML: agents (with static
//! reservations), role weights and quotas. `mock-master --config FILE`
//! reads it (its flags then override or extend it). Resources are in the
//! text form of [`Resources::parse`].
//!
//! It lives with the binary, not in `corral-testkit`: a test or a program
//! that embeds the master builds its [`MasterConfig`] in code (the same
//! agents, weights, quotas and [`AgentSpec::reserve`]), so the library
//! needs neither a TOML parser nor serde.
//!
//! ```toml
//! [[agents]]                # two agents, agent-0 and agent-1
//! count = 2
//! resources = "cpus:4;mem:8192;ports:[31000-32000]"
//! reserved = "cpus(eng):1;mem(eng):1024"   # carved out of `resources`
//! attributes = { zone = "a" }
//!
//! [[agents]]                # one agent with its own id
//! id = "gpu-0"
//! hostname = "gpu-0.example"
//! resources = "cpus:8;mem:16384;gpus:2"
//!
//! [roles.eng]
//! weight = 2.0
//! quota = "cpus:4;mem:4096"  # the guarantee
//! limit = "cpus:8"
//!
//! [roles."eng/web"]
//! weight = 1.5
//! ```
//!
//! Every mistake is a [`ConfigFileError`] naming the line (and, for TOML
//! syntax, the column).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use corral::{AgentId, Resources, Role};
use serde::Deserialize;
use toml::Spanned;

use corral_testkit::allocator::{Allocator, AllocatorConfig, Quota};
use corral_testkit::master::{AgentSpec, MasterConfig};

/// A parsed, checked configuration file. See the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFile {
    /// The agents, in file order (unnamed ones numbered `agent-<i>` by
    /// their position).
    pub agents: Vec<AgentSpec>,
    /// Role weights.
    pub weights: BTreeMap<Role, f64>,
    /// Role quotas.
    pub quotas: BTreeMap<Role, Quota>,
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// Not valid TOML, or not the expected shape (the message names the
    /// line and column).
    #[error("{0}")]
    Syntax(String),
    /// A value that does not make sense.
    #[error("line {line}: {what}")]
    Invalid {
        /// 1-based line of the offending value.
        line: usize,
        /// What is wrong, naming the setting.
        what: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    agents: Vec<Spanned<RawAgent>>,
    #[serde(default)]
    roles: BTreeMap<Spanned<String>, RawRole>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    id: Option<Spanned<String>>,
    count: Option<Spanned<usize>>,
    resources: Spanned<String>,
    reserved: Option<Spanned<String>>,
    hostname: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    weight: Option<Spanned<f64>>,
    quota: Option<Spanned<String>>,
    limit: Option<Spanned<String>>,
}

impl ConfigFile {
    /// Reads and checks the file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks a configuration file's text.
    pub fn parse(text: &str) -> Result<Self, ConfigFileError> {
        let raw: RawFile =
            toml::from_str(text).map_err(|e| ConfigFileError::Syntax(e.to_string()))?;
        let at = |span: std::ops::Range<usize>, what: String| ConfigFileError::Invalid {
            line: line_of(text, span.start),
            what,
        };
        let mut out = ConfigFile::default();
        for (i, agent) in raw.agents.iter().enumerate() {
            let span = agent.span();
            let agent = agent.get_ref();
            let key = |name: &str| format!("agents[{i}].{name}");
            let resources = parse_resources(&agent.resources, &key("resources"))
                .map_err(|(s, what)| at(s, what))?;
            let count = agent.count.as_ref().map_or(1, |c| *c.get_ref());
            let ids: Vec<AgentId> = match &agent.id {
                Some(id) if count != 1 => {
                    return Err(at(
                        id.span(),
                        format!(
                            "{}: an agent with an id has count 1, got {count}",
                            key("id")
                        ),
                    ))
                }
                Some(id) => vec![AgentId::new(id.get_ref().clone())],
                None => (0..count)
                    .map(|n| AgentId::new(format!("agent-{}", out.agents.len() + n)))
                    .collect(),
            };
            for id in ids {
                let mut spec = AgentSpec::new(id, resources.clone());
                if let Some(hostname) = &agent.hostname {
                    spec = spec.hostname(hostname.clone());
                }
                for (name, value) in &agent.attributes {
                    spec = spec.attribute(name.clone(), value.clone());
                }
                if let Some(reserved) = &agent.reserved {
                    let wanted = parse_resources(reserved, &key("reserved"))
                        .map_err(|(s, what)| at(s, what))?;
                    spec = spec
                        .reserve(&wanted)
                        .map_err(|e| at(reserved.span(), format!("{}: {e}", key("reserved"))))?;
                }
                spec.validate()
                    .map_err(|e| at(span.clone(), format!("agents[{i}]: {e}")))?;
                out.agents.push(spec);
            }
        }
        let mut scratch = Allocator::new(AllocatorConfig::default());
        for (name, settings) in &raw.roles {
            let role = Role::new(name.get_ref().clone());
            let key = |setting: &str| format!("roles.{role}.{setting}");
            role.validate()
                .map_err(|e| at(name.span(), format!("roles.{role}: {e}")))?;
            if let Some(weight) = &settings.weight {
                let w = *weight.get_ref();
                if !(w.is_finite() && w > 0.0) {
                    let what = format!("{}: {w} is not a finite number > 0", key("weight"));
                    return Err(at(weight.span(), what));
                }
                out.weights.insert(role.clone(), w);
            }
            let guarantee = match &settings.quota {
                Some(text) => {
                    Some(parse_resources(text, &key("quota")).map_err(|(s, w)| at(s, w))?)
                }
                None => None,
            };
            let limit = match &settings.limit {
                Some(text) => {
                    Some(parse_resources(text, &key("limit")).map_err(|(s, w)| at(s, w))?)
                }
                None => None,
            };
            if guarantee.is_none() && limit.is_none() {
                continue;
            }
            let quota = Quota {
                guarantee: guarantee.unwrap_or_default(),
                limit,
            };
            let span = settings
                .quota
                .as_ref()
                .or(settings.limit.as_ref())
                .map_or_else(|| name.span(), Spanned::span);
            if role.as_str() == "*" {
                return Err(at(
                    span,
                    "roles.*: the default role `*` cannot have quota".into(),
                ));
            }
            scratch
                .set_quota(&role, quota.clone())
                .map_err(|e| at(span, format!("roles.{role}: {e}")))?;
            out.quotas.insert(role, quota);
        }
        Ok(out)
    }

    /// `config` with the file's agents added after its own, and the file's
    /// weights and quotas set (replacing those of the same roles).
    pub fn apply(self, mut config: MasterConfig) -> MasterConfig {
        config.agents.extend(self.agents);
        config.role_weights.extend(self.weights);
        config.quotas.extend(self.quotas);
        config
    }
}

/// Parses a resources string; on error, its span and a message naming `key`.
fn parse_resources(
    text: &Spanned<String>,
    key: &str,
) -> Result<Resources, (std::ops::Range<usize>, String)> {
    Resources::parse(text.get_ref()).map_err(|e| (text.span(), format!("{key}: {e}")))
}

/// The 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

#[cfg(test)]
#[path = "config_file_tests.rs"]
mod tests;
