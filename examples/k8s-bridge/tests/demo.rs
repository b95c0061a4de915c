//! The shipped manifests: they parse, the bridge takes every object, and
//! the demo's master gets the web namespace's quota as its role's
//! guarantee.

use std::path::Path;

use k8s_bridge::demo::{master_config, placement, read_manifests};
use k8s_bridge::{Bridge, BridgeConfig};

fn shipped() -> Bridge {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let objects = read_manifests(&dir).unwrap();
    assert_eq!(objects.len(), 7);
    let mut bridge = Bridge::new(BridgeConfig::default());
    let refused = bridge.preload(objects);
    assert!(refused.is_empty(), "{refused:?}");
    bridge
}

#[test]
fn the_shipped_manifests_apply_cleanly() {
    let bridge = shipped();
    let store = bridge.store();
    let roles: Vec<_> = store.roles().iter().map(|r| r.to_string()).collect();
    assert_eq!(roles, ["batch", "web"]);
    assert_eq!(store.pods.len(), 7, "3 frontend and 4 crunch replicas");
    assert_eq!(store.quotas["web"].cpus(), 4.0);
    assert_eq!(store.priority_classes["best-effort"], -100);
    let listing = placement(store);
    assert!(
        listing.contains("web        frontend-1     Pending"),
        "{listing}"
    );
}

#[test]
fn a_namespace_quota_becomes_its_roles_guarantee_in_the_demo_master() {
    let bridge = shipped();
    let config = master_config(
        bridge.store(),
        2,
        corral::Resources::parse("cpus:4;mem:8192").unwrap(),
    );
    let web = &config.quotas[&corral::Role::from("web")].guarantee;
    assert_eq!((web.cpus(), web.mem()), (4.0, 4096.0));
    // batch's quota caps only the pod count: no guarantee.
    assert!(!config.quotas.contains_key(&corral::Role::from("batch")));
}

#[test]
fn a_missing_directory_is_a_read_error() {
    let err = read_manifests(Path::new("/nonexistent/manifests")).unwrap_err();
    assert!(matches!(err, k8s_bridge::demo::DemoError::Read { .. }));
}
