//! Helpers shared by the allocator's scenario tests: short constructors
//! for ids and resources, and a small cluster of identical agents.

use std::time::Duration;

use super::*;

pub(super) fn res(text: &str) -> Resources {
    Resources::parse(text).expect("test resources parse")
}

pub(super) fn role(name: &str) -> Role {
    Role::new(name)
}

pub(super) fn fw(id: &str) -> FrameworkId {
    FrameworkId::new(id)
}

pub(super) fn agent(id: &str) -> AgentId {
    AgentId::new(id)
}

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn spec(roles: &[&str], revocable: bool) -> FrameworkSpec {
    FrameworkSpec {
        roles: roles.iter().map(|r| role(r)).collect(),
        suppressed: Default::default(),
        revocable,
    }
}

pub(super) fn cluster(n: usize) -> Allocator {
    let mut a = Allocator::new(AllocatorConfig::default());
    for i in 0..n {
        a.add_agent(agent(&format!("a{i}")), res("cpus:4;mem:4096"))
            .expect("add agent");
    }
    a
}
