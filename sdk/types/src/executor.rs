//! Executors for task groups: the [`ExecutorInfo`] a framework names when it
//! launches several tasks together with
//! `corral::Driver::launch_group`, as a pod has
//! containers. The agent runs them under one (default) executor; each task
//! keeps its own processes.

use crate::resources::Resources;
use crate::ExecutorId;

/// The executor of a task group. Built with [`ExecutorInfo::new`] and its
/// `with_*` methods.
///
/// ```
/// use corral_types::{ExecutorInfo, Resources};
///
/// let executor = ExecutorInfo::new("pod-7")
///     .with_name("web pod")
///     .with_resources(Resources::new().with_cpus(0.1).with_mem(32.0));
/// assert_eq!(executor.id.as_str(), "pod-7");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExecutorInfo {
    /// Its id, unique per agent within the framework. Launching another
    /// group with the id of an executor still running on that agent adds
    /// the tasks to it.
    pub id: ExecutorId,
    /// A name for people.
    pub name: Option<String>,
    /// What the executor itself uses, written without allocation info;
    /// charged once, when it starts.
    pub resources: Resources,
    /// Key-value labels.
    pub labels: Vec<(String, String)>,
}

impl ExecutorInfo {
    /// An executor with this id, no name, no resources of its own.
    pub fn new(id: impl Into<ExecutorId>) -> Self {
        ExecutorInfo {
            id: id.into(),
            name: None,
            resources: Resources::new(),
            labels: Vec::new(),
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the resources the executor itself uses.
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }
}
