//! What `cargo run -p k8s-bridge` does: read a directory of manifests,
//! start the embedded mock master (each namespace's ResourceQuota
//! `requests.cpu` / `requests.memory` set as its role's guarantee in the
//! master's configuration) with simulated or local agents, or connect to
//! the master `--master` names, serve the Kubernetes API in front and
//! write a kubeconfig for it ([`serve`]); or, for the short demo
//! ([`run`]), run for a few seconds and print where each pod went.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
    /// `--master` was refused.
    #[error("--master")]
    Master2(#[source] corral::ConnectError),
    /// The API's address could not be bound, or the kubeconfig written.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
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

/// The namespace every cluster has.
const DEFAULT_NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n";

/// How [`serve`] runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Simulated agents of the embedded master.
    pub agents: usize,
    /// Local agents (real processes) of the embedded master.
    pub local_agents: usize,
    /// Each embedded agent's resources.
    pub resources: Resources,
    /// A master to use instead of the embedded one (`corral::connect`).
    pub master: Option<String>,
    /// Where the Kubernetes API listens.
    pub listen: SocketAddr,
    /// Where local agents keep their sandboxes; the kubeconfig goes here
    /// too unless `kubeconfig` says.
    pub work_dir: PathBuf,
    /// Where to write the kubeconfig.
    pub kubeconfig: Option<PathBuf>,
    /// Stop after this long (real time); `None`: at Ctrl-C or SIGTERM.
    pub run_for: Option<Duration>,
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs the bridge with `objects` and the Kubernetes API in front, until
/// `run_for` has passed or a stop signal; prints `kubeconfig: PATH` and
/// a kubectl line to try. At a signal the framework is torn down (its
/// pods killed): restarting with its state is not built.
pub async fn serve(objects: Vec<Object>, options: ServeOptions) -> Result<Bridge, DemoError> {
    let io = |what: String| move |source| DemoError::Io { what, source };
    let (publisher, catalog) = crate::catalog::Publisher::new();
    let mut bridge = Bridge::new(BridgeConfig::default());
    // As in every Kubernetes cluster, the namespace `default` exists (so
    // the framework always has a role) and cannot be deleted.
    let mut all = manifest::parse(DEFAULT_NAMESPACE).map_err(|source| DemoError::Manifest {
        path: "(the default namespace)".to_owned(),
        source: Box::new(source),
    })?;
    all.extend(objects);
    if let Some(refused) = bridge.preload(all).into_iter().next() {
        return Err(DemoError::Refused(refused));
    }
    let mut bridge = bridge.with_catalog(publisher);
    let (master, endpoint) = match &options.master {
        Some(url) => (None, url.clone()),
        None => {
            let mut config =
                master_config(bridge.store(), options.agents, options.resources.clone());
            if options.local_agents > 0 {
                std::fs::create_dir_all(&options.work_dir)
                    .map_err(io(format!("creating {}", options.work_dir.display())))?;
                config = config.local_agents(
                    options.local_agents,
                    options.resources.clone(),
                    &options.work_dir,
                );
            }
            let master = MockMaster::start(config).await.map_err(DemoError::Master)?;
            let endpoint = match master.addr() {
                Some(addr) => format!("grpc://{addr}"),
                None => master.endpoint(),
            };
            println!(
                "embedded mock master at {endpoint}: {} simulated and {} local agents ({})",
                options.agents, options.local_agents, options.resources
            );
            if options.local_agents > 0 {
                println!("  sandboxes under {}", options.work_dir.display());
            }
            (Some(master), endpoint)
        }
    };
    let transport = corral::connect(&endpoint).map_err(DemoError::Master2)?;
    let framework = Framework::new(bridge.framework_info(), transport);
    let driver = framework.driver();
    let (inputs, receiver) = corral::inputs::channel(64);

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(io(format!("binding {}", options.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(io("reading the API's address".to_owned()))?;
    let server = format!("http://{addr}");
    let kubeconfig = options
        .kubeconfig
        .clone()
        .unwrap_or_else(|| options.work_dir.join("kubeconfig"));
    if let Some(parent) = kubeconfig.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    std::fs::write(&kubeconfig, crate::api::kubeconfig(&server))
        .map_err(io(format!("writing {}", kubeconfig.display())))?;
    println!("Kubernetes API at {server}");
    println!("kubeconfig: {}", kubeconfig.display());
    println!(
        "try: kubectl --kubeconfig {} get pods -A -o wide",
        kubeconfig.display()
    );
    let router = crate::api::router(crate::api::Api::new(inputs, catalog));
    let (stop_api, stopped) = tokio::sync::oneshot::channel::<()>();
    let api = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    });

    let run_for = options.run_for;
    // Either way the framework is torn down: the master kills its pods
    // (the bridge keeps no state to resume them with).
    let stopper = async move {
        match run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                stop_signal().await;
                println!("stopping: tearing the framework down");
            }
        }
        if let Err(e) = driver.teardown().await {
            tracing::warn!(error = %e, "teardown failed");
            driver.stop();
        }
    };
    let outcome = {
        let run = framework.run_with_inputs(&mut bridge, receiver);
        tokio::pin!(run);
        // A framework that fails ends the run without waiting for a signal.
        tokio::select! {
            outcome = &mut run => outcome,
            () = stopper => run.await,
        }
    };
    bridge.close_catalog();
    let _ = stop_api.send(());
    match api.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the API server failed"),
        Err(e) => tracing::warn!(error = %e, "the API server's task failed"),
    }
    outcome.map_err(DemoError::Framework)?;
    if let Some(master) = master {
        if let Err(e) = master.shutdown().await {
            tracing::warn!(error = %e, "the mock master did not shut down cleanly");
        }
    }
    Ok(bridge)
}
