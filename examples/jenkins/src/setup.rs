//! What both the burst run and `serve` start: the embedded mock master
//! (unless `--master`), the agents' hub (real agents), the controller
//! restored from its state database, and its framework.

use std::time::Duration;

use corral::inputs::{self, InputSender, Inputs};
use corral::{Capability, Config, Framework, FrameworkInfo, Resources};
use corral_testkit::allocator::Quota;
use corral_testkit::{MasterConfig, MockMaster};
use jenkins::store::Store;
use jenkins::{hub, Controller, Input, JobsFile, Runner};

use crate::{Args, SHIPPED_JOBS};

/// How long the master keeps the framework's agents running while the
/// controller is away (a restart). Never zero: that kills every build.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// A controller ready to run.
pub struct Started {
    /// The embedded master, if any (it lives as long as this).
    pub _master: Option<MockMaster>,
    /// The framework to run the controller with.
    pub framework: Framework,
    /// The controller.
    pub controller: Controller,
    /// Its inputs' sending end.
    pub sender: InputSender<Input>,
    /// Its inputs' receiving end.
    pub inputs: Inputs<Input>,
}

/// `corral-jenkins-<pid>` in the system's temporary directory.
pub fn default_work_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("corral-jenkins-{}", std::process::id()))
}

/// Starts everything but the run itself.
pub async fn start(args: &Args, capacity: usize) -> Result<Started, Box<dyn std::error::Error>> {
    let file = match &args.jobs {
        Some(path) => JobsFile::load(path)?,
        None => JobsFile::parse(SHIPPED_JOBS)?,
    };
    if args.simulated && args.master.is_some() {
        return Err("--simulated is for the embedded master's agents".into());
    }
    let role = file.cloud.role.clone();
    let work_dir = match &args.work_dir {
        Some(dir) => std::path::absolute(dir)?,
        None => default_work_dir(),
    };
    let (master, endpoint) = match &args.master {
        Some(url) => (None, url.clone()),
        None => {
            let resources = Resources::parse(&args.agent_resources)?;
            let config = if args.simulated {
                MasterConfig::default().agents(args.agents, resources)
            } else {
                MasterConfig::default().local_agents(args.agents, resources, &work_dir)
            };
            let config = config
                .attribute_all("os", "linux")
                .role(role.as_str(), 1.0)
                .role("batch", 1.0)
                .quota(
                    "batch",
                    Quota {
                        guarantee: Resources::new().with_cpus(args.lent_cpus),
                        limit: None,
                    },
                )
                .allocation_interval(Duration::from_millis(100));
            let master = MockMaster::start(config).await?;
            let endpoint = match master.addr() {
                Some(addr) => format!("grpc://{addr}"),
                None => return Err("the embedded master listens on TCP".into()),
            };
            let kind = if args.simulated { "simulated" } else { "local" };
            println!(
                "embedded mock master at {endpoint}: {} {kind} agents ({}), {} CPUs of idle role `batch` lent as revocable",
                args.agents, args.agent_resources, args.lent_cpus
            );
            if !args.simulated {
                println!("  sandboxes under {}", work_dir.display());
            }
            (Some(master), endpoint)
        }
    };

    let (sender, inputs) = inputs::channel(capacity);
    let runner = if args.simulated {
        Runner::Simulated
    } else {
        // Agents connect back here; the hub turns what they say into inputs.
        let listener = tokio::net::TcpListener::bind(args.agent_port).await?;
        let controller = listener.local_addr()?;
        tokio::spawn(hub::serve(listener, sender.clone()));
        println!("  agents connect back to {controller}");
        Runner::Remote {
            program: std::env::current_exe()?,
            controller,
        }
    };

    std::fs::create_dir_all(&work_dir)?;
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| work_dir.join("jenkins.redb"));
    let controller = Controller::restore(file, runner, Store::open(&state)?)?;
    let mut info = FrameworkInfo::new("jenkins")
        .with_roles([role.as_str()])
        .with_capability(Capability::RevocableResources)
        .with_failover_timeout(FAILOVER_TIMEOUT);
    if let Some(id) = controller.framework_id() {
        println!("  resuming framework {id} from {}", state.display());
        info = info.with_id(id.clone());
    }
    // Single-use agents end often: revive sooner than the default 1 s.
    let config = Config::new().with_min_revive_interval(Duration::from_millis(200));
    let framework = Framework::with_config(info, config, corral::connect(&endpoint)?);
    Ok(Started {
        _master: master,
        framework,
        controller,
        sender,
        inputs,
    })
}
