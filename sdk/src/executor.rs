//! Executors for task groups: the [`ExecutorInfo`] a framework names when it
//! launches several tasks together with
//! [`Driver::launch_group`](crate::Driver::launch_group), as a pod has
//! containers. The agent runs them under one (default) executor; each task
//! keeps its own processes.

use crate::resources::Resources;
use crate::task::labels_pb;
use crate::{pb, ExecutorId, FrameworkId, Role};

/// The executor of a task group. Built with [`ExecutorInfo::new`] and its
/// `with_*` methods.
///
/// ```
/// use corral::{ExecutorInfo, Resources};
///
/// let executor = ExecutorInfo::new("pod-7")
///     .with_name("web pod")
///     .with_resources(Resources::new().with_cpus(0.1).with_mem(32.0));
/// assert_eq!(executor.id.as_str(), "pod-7");
/// ```
#[derive(Clone, Debug, PartialEq)]
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

    /// The wire form: a DEFAULT executor of `framework`, with resources
    /// allocated to `role`.
    pub(crate) fn to_pb(&self, framework: Option<&FrameworkId>, role: &Role) -> pb::ExecutorInfo {
        pb::ExecutorInfo {
            r#type: Some(pb::executor_info::Type::Default as i32),
            executor_id: self.id.to_pb(),
            framework_id: framework.map(FrameworkId::to_pb),
            command: None,
            resources: self.resources.allocated_to(role).to_pb(),
            name: self.name.clone(),
            data: None,
            labels: labels_pb(&self.labels),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_a_default_executor_with_allocated_resources() {
        let executor = ExecutorInfo::new("e1")
            .with_name("pod")
            .with_resources(Resources::new().with_mem(32.0))
            .with_label("tier", "web");
        let role = Role::from("web");
        let wire = executor.to_pb(Some(&FrameworkId::from("f1")), &role);
        assert_eq!(wire.r#type(), pb::executor_info::Type::Default);
        assert_eq!(wire.executor_id.value, "e1");
        assert_eq!(wire.framework_id.unwrap().value, "f1");
        assert_eq!(wire.name.as_deref(), Some("pod"));
        let resources = Resources::from_pb(&wire.resources).unwrap();
        assert_eq!(
            resources,
            Resources::new().with_mem(32.0).allocated_to(&role)
        );
        assert_eq!(wire.labels.unwrap().labels[0].key, "tier");
    }
}
