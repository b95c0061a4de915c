//! The README's framework in under 40 lines: three tasks on the embedded mock master.

use async_trait::async_trait;
use corral::{CommandInfo, Driver, Framework, FrameworkInfo, GrpcTransport, Offer};
use corral::{Resources, Role, Scheduler, TaskInfo, TaskStatus};
use corral_testkit::{MasterConfig, MockMaster};

struct Hello {
    todo: Vec<String>,
    done: usize,
}

#[async_trait]
impl Scheduler for Hello {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let needs = Resources::new().with_cpus(0.5).with_mem(64.0);
        for offer in offers.iter().filter(|o| o.fits(&needs)) {
            let Some(name) = self.todo.pop() else { break };
            let task = TaskInfo::new(name)
                .with_resources(needs.clone())
                .with_command(CommandInfo::shell("sleep 1"));
            driver.launch(offer, vec![task]).await.expect("launch");
        } // offers left unanswered are declined for you
    }
    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        println!("{} is {:?}", status.task_id, status.state); // acked for you
        if status.state.is_terminal() {
            self.done += 1
        }
        if self.done == 3 {
            driver.teardown().await.expect("teardown")
        }
    }
    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(!self.todo.is_empty())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let master =
        MockMaster::start(MasterConfig::default().agents(3, Resources::parse("cpus:2;mem:1024")?))
            .await?;
    let transport = GrpcTransport::connect_lazy(&master.endpoint())?;
    let hello = Hello {
        todo: vec!["a".into(), "b".into(), "c".into()],
        done: 0,
    };
    Framework::new(FrameworkInfo::new("hello").with_roles(["web"]), transport)
        .run(hello)
        .await?;
    Ok(())
}
