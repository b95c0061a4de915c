//! The list of roles the allocator knows, for the master's operator views
//! (which ask each role's weight, quota and share with the other
//! inspection calls).

use corral::Role;

use super::Allocator;

impl Allocator {
    /// Every role the allocator was ever told of (by a framework, a weight,
    /// a quota, a reservation or a request) and their ancestors, sorted by
    /// name. Roles are never forgotten: one whose frameworks all left stays
    /// listed, with nothing held.
    pub fn known_roles(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = self.roles.iter().map(|(_, r)| r.name.clone()).collect();
        roles.sort();
        roles
    }
}
