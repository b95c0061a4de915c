//! What `cargo run -p k8s-bridge` does: read a directory of manifests,
//! start the embedded mock master with simulated agents (each namespace's
//! ResourceQuota `requests.cpu` / `requests.memory` set as its role's
//! guarantee in the master's configuration), run the bridge for a few
//! seconds, and print where each pod went.

use std::path::Path;
use std::time::Duration;

use corral::{Driver, Framework, GrpcTransport, Resources};
use corral_testkit::allocator::Quota;
use corral_testkit::{MasterConfig, MockMaster};

use crate::bridge::{Bridge, BridgeConfig};
use crate::manifest::{self, ManifestError, Object};
use crate::store::{Phase, Store};

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The manifests directory or a file in it could not be read.
    #[error("reading {path}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A manifest file was refused.
    #[error("{path}")]
    Manifest {
        /// The file.
        path: String,
        /// Why (boxed: a parse error is large).
        #[source]
        source: Box<ManifestError>,
    },
    /// An object was refused by the bridge (bad namespace, bad spec...).
    #[error("refused: {0}")]
    Refused(String),
    /// The mock master did not start.
    #[error("the mock master did not start")]
    Master(#[source] corral_testkit::MasterError),
    /// The master's endpoint was refused by the transport.
    #[error("connecting to the mock master")]
    Connect(#[source] corral::TransportError),
    /// The framework failed.
    #[error("the framework failed")]
    Framework(#[source] corral::Error),
}

/// Every `.yaml`, `.yml` and `.json` file in `dir`, by file name, parsed.
pub fn read_manifests(dir: &Path) -> Result<Vec<Object>, DemoError> {
    let read_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| DemoError::Read { path, source }
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .collect();
    files.sort();
    let mut objects = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(read_err(&path))?;
        objects.extend(
            manifest::parse(&text).map_err(|source| DemoError::Manifest {
                path: path.display().to_string(),
                source: Box::new(source),
            })?,
        );
    }
    Ok(objects)
}

/// The master's configuration: `agents` simulated agents of `resources`,
/// and each namespace's quota as its role's guarantee.
pub fn master_config(store: &Store, agents: usize, resources: Resources) -> MasterConfig {
    let mut config = MasterConfig::default()
        .agents(agents, resources)
        .allocation_interval(Duration::from_millis(100));
    for (ns, guarantee) in &store.quotas {
        if guarantee.is_empty() {
            continue;
        }
        if let Some(role) = store.namespaces.get(ns) {
            config = config.quota(
                role.clone(),
                Quota {
                    guarantee: guarantee.clone(),
                    limit: None,
                },
            );
        }
    }
    config
}

/// Runs the bridge with `objects` on an embedded master for `run_for`
/// (real time) and returns it, to print.
pub async fn run(
    objects: Vec<Object>,
    agents: usize,
    resources: Resources,
    run_for: Duration,
) -> Result<Bridge, DemoError> {
    let mut bridge = Bridge::new(BridgeConfig::default());
    if let Some(refused) = bridge.preload(objects).into_iter().next() {
        return Err(DemoError::Refused(refused));
    }
    let master = MockMaster::start(master_config(bridge.store(), agents, resources))
        .await
        .map_err(DemoError::Master)?;
    let transport = GrpcTransport::connect_lazy(&master.endpoint()).map_err(DemoError::Connect)?;
    let framework = Framework::new(bridge.framework_info(), transport);
    let driver = framework.driver();
    // Nothing arrives from outside in the demo; the channel is the seam a
    // Kubernetes API in front would use.
    let (_inputs, receiver) = corral::inputs::channel(16);
    let stopper = async move {
        tokio::time::sleep(run_for).await;
        driver.stop();
    };
    let (outcome, ()) = tokio::join!(framework.run_with_inputs(&mut bridge, receiver), stopper);
    outcome.map_err(DemoError::Framework)?;
    if let Err(e) = master.shutdown().await {
        tracing::warn!(error = %e, "the mock master did not shut down cleanly");
    }
    Ok(bridge)
}

/// The pods as `kubectl get pods -A -o wide` would list them, plus
/// whether each borrows.
pub fn placement(store: &Store) -> String {
    let mut out = format!(
        "{:<10} {:<14} {:<12} {:<10} {}\n",
        "NAMESPACE", "NAME", "STATUS", "NODE", "LENT"
    );
    for ((ns, name), pod) in &store.pods {
        let (status, reason) = match &pod.phase {
            Phase::Pending(reason) => ("Pending", Some(reason.as_str())),
            Phase::Starting => ("Starting", None),
            Phase::Running => ("Running", None),
            Phase::Terminating => ("Terminating", None),
            Phase::Succeeded => ("Succeeded", None),
            Phase::Failed(why) => ("Failed", Some(why.as_str())),
        };
        let node = pod.agent.as_ref().map_or("<none>", |a| a.as_str());
        let lent = if pod.revocable { "yes" } else { "no" };
        out.push_str(&format!(
            "{ns:<10} {name:<14} {status:<12} {node:<10} {lent}\n"
        ));
        if let Some(reason) = reason {
            out.push_str(&format!("{:<10}   {reason}\n", ""));
        }
    }
    out
}
