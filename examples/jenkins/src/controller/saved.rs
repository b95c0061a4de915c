//! The controller's state across restarts: restored from the store,
//! written back after each change, resumed once subscribed.

use corral::{Driver, FrameworkId, TaskId};
use tokio::time::Instant;

use super::{Controller, Runner, Timer};
use crate::config::JobsFile;
use crate::pool::{AgentState, Pool};
use crate::queue::{BuildId, BuildResult, Builds};
use crate::store::{SavedMeta, Store, StoreError};

impl Controller {
    /// A controller that keeps its state in `store`, resuming what a
    /// previous run saved there: its builds and numbers, its queue, its
    /// agents. Subscribe with [`Controller::framework_id`] (when there is
    /// one) so the master hands back the same framework with its agents.
    pub fn restore(file: JobsFile, runner: Runner, store: Store) -> Result<Self, StoreError> {
        let saved = store.load()?;
        let mut controller = Controller::with_runner(file, runner);
        controller.builds = Builds::restore(&saved.meta, saved.builds, Instant::now());
        controller.pool = Pool::restore(&saved.meta);
        controller.framework_id = saved.meta.framework_id.map(FrameworkId::from);
        controller.restored = controller.pool.all().map(|a| a.task.clone()).collect();
        controller.store = Some(store);
        Ok(controller)
    }

    /// The framework id: saved by an earlier run, or this run's once
    /// subscribed.
    pub fn framework_id(&self) -> Option<&FrameworkId> {
        self.framework_id.as_ref()
    }

    /// Writes what changed to the store, if there is one. A failure is
    /// logged and the controller carries on (what changed is written with
    /// the next change).
    pub(super) fn persist(&mut self) {
        let Some(store) = &self.store else {
            return;
        };
        let mut meta = SavedMeta {
            framework_id: self.framework_id.as_ref().map(|id| id.to_string()),
            ..SavedMeta::default()
        };
        self.builds.save_meta(&mut meta);
        self.pool.save_meta(&mut meta);
        let dirty = self.builds.take_dirty();
        // Only log output changed when the rest is as last written.
        let meta_changed = self.last_saved.as_ref() != Some(&meta);
        if !meta_changed && dirty.is_empty() {
            return;
        }
        if let Err(e) = store.save(&meta, &dirty, meta_changed) {
            tracing::error!(error = %e, "saving the controller's state failed");
            for b in dirty {
                self.builds.mark_dirty(b.id);
            }
            self.last_saved = None;
            return;
        }
        self.last_saved = Some(meta);
    }

    /// After a restore, once subscribed: ask the master about every agent
    /// read back (the ones it no longer has end, and their builds go back
    /// to the queue), and give each running build its clock again.
    pub(super) async fn resume(&mut self, driver: &dyn Driver) {
        let restored = std::mem::take(&mut self.restored);
        if restored.is_empty() {
            return;
        }
        tracing::info!(
            agents = restored.len(),
            "resuming: reconciling the agents of the previous run"
        );
        let busy: Vec<(TaskId, BuildId)> = self
            .pool
            .all()
            .filter_map(|a| match &a.state {
                AgentState::Busy(b) => Some((a.task.clone(), b.clone())),
                _ => None,
            })
            .collect();
        for (agent, build) in busy {
            let Some(job) = self.file.job(&build.job).cloned() else {
                continue;
            };
            match self.runner {
                // The controller is the simulator: the build's simulated
                // time starts again on the same agent (not a second build).
                Runner::Simulated => {
                    let (run_for, exit) = job.simulated_run();
                    let result = if exit == 0 {
                        BuildResult::Success
                    } else {
                        BuildResult::Failure
                    };
                    let timer = Timer::BuildEnd {
                        agent,
                        build,
                        result,
                    };
                    self.set_timer(driver, run_for.min(job.timeout()), timer);
                }
                Runner::Remote { .. } => {
                    self.set_timer(driver, job.timeout(), Timer::Timeout { agent, build })
                }
            }
        }
        if let Err(e) = driver.reconcile(&restored).await {
            // The runtime's own reconciliation after subscribing still
            // reports the tasks the master knows.
            tracing::warn!(error = %e, "reconciling the restored agents failed");
        }
    }
}
