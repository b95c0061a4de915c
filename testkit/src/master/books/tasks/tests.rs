//! Tests of the tasks book.

use super::*;
use crate::master::sim::SimPlan;
use corral::Role;

const STEP: Duration = Duration::from_millis(10);

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn launch(id: &str, run_for: Option<u64>, executor: Option<&str>, group: Option<u64>) -> Launch {
    Launch {
        framework: FrameworkId::new("f"),
        id: TaskId::new(id),
        agent: AgentId::new("a"),
        role: Role::new("r"),
        resources: Resources::new().with_cpus(1.0),
        executor: executor.map(|e| (ExecutorId::new(e), Resources::new().with_mem(32.0))),
        group,
        plan: SimPlan {
            run_for: run_for.map(ms),
            exit_ok: true,
            cleanup: ms(50),
            kill_grace: None,
        },
    }
}

fn states(steps: &[Transitioned]) -> Vec<TaskState> {
    steps.iter().map(|s| s.state).collect()
}

#[test]
fn lifecycle_runs_on_schedule() {
    let mut table = TaskTable::new(STEP);
    table.launch(ms(0), launch("t", Some(100), None, None));
    assert_eq!(table.next_deadline(), Some(ms(10)));
    assert_eq!(states(&table.advance(ms(10))), [TaskState::Starting]);
    assert_eq!(states(&table.advance(ms(20))), [TaskState::Running]);
    assert_eq!(table.next_deadline(), Some(ms(120)));
    let done = table.advance(ms(500));
    assert_eq!(states(&done), [TaskState::Finished]);
    assert_eq!(done[0].freed, Resources::new().with_cpus(1.0));
    assert_eq!(table.next_deadline(), None);
    assert!(!table.is_active(&FrameworkId::new("f"), &TaskId::new("t")));
}

#[test]
fn huge_durations_saturate_instead_of_overflowing() {
    let mut table = TaskTable::new(STEP);
    let mut long = launch("t", None, None, None);
    long.plan.run_for = Some(Duration::MAX);
    table.launch(ms(0), long);
    assert_eq!(states(&table.advance(ms(20))).len(), 2);
    assert_eq!(table.next_deadline(), Some(Duration::MAX));
}

#[test]
fn late_advance_catches_up_in_order() {
    let mut table = TaskTable::new(STEP);
    table.launch(ms(0), launch("t", Some(0), None, None));
    let steps = table.advance(ms(1000));
    assert_eq!(
        states(&steps),
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
}

#[test]
fn kill_uses_min_of_cleanup_and_grace() {
    let fw = FrameworkId::new("f");
    let mut table = TaskTable::new(STEP);
    table.launch(ms(0), launch("t", None, None, None));
    table.advance(ms(20));
    let t = TaskId::new("t");
    assert_eq!(
        table.kill(ms(100), &fw, &t, Some(ms(20)), true),
        KillOutcome::Killing { stops_at: ms(120) }
    );
    assert_eq!(table.get(&fw, &t).unwrap().state, TaskState::Killing);
    assert_eq!(
        table.kill(ms(101), &fw, &t, None, true),
        KillOutcome::AlreadyKilling
    );
    assert_eq!(states(&table.advance(ms(120))), [TaskState::Killed]);
    assert_eq!(
        table.kill(ms(130), &fw, &t, None, true),
        KillOutcome::AlreadyTerminal
    );
    assert_eq!(
        table.kill(ms(130), &fw, &TaskId::new("x"), None, true),
        KillOutcome::Unknown
    );
    // Without a grace period anywhere, the task stops at once.
    table.launch(ms(200), launch("u", None, None, None));
    let u = TaskId::new("u");
    assert_eq!(
        table.kill(ms(200), &fw, &u, None, false),
        KillOutcome::Killing { stops_at: ms(200) }
    );
    assert_eq!(table.get(&fw, &u).unwrap().state, TaskState::Staging);
}

#[test]
fn external_tasks_have_no_timers_and_follow_reports() {
    let fw = FrameworkId::new("f");
    let t = TaskId::new("t");
    let mut table = TaskTable::new(STEP);
    table.launch_external(ms(0), launch("t", Some(10), None, None));
    assert_eq!(table.next_deadline(), None);
    assert!(table.advance(ms(1000)).is_empty());
    let step = table
        .report_external(&fw, &t, TaskState::Running, None)
        .unwrap();
    assert_eq!(
        (step.state, step.freed.is_empty()),
        (TaskState::Running, true)
    );
    assert!(table.mark_killing(&fw, &t, true));
    assert!(!table.mark_killing(&fw, &t, true), "already killing");
    assert_eq!(table.get(&fw, &t).unwrap().state, TaskState::Killing);
    assert!(
        table
            .report_external(&fw, &t, TaskState::Running, None)
            .is_none(),
        "a late RUNNING does not undo KILLING"
    );
    let done = table
        .report_external(&fw, &t, TaskState::Killed, Some("bye".into()))
        .unwrap();
    assert_eq!(done.freed, Resources::new().with_cpus(1.0));
    assert!(table
        .report_external(&fw, &t, TaskState::Failed, None)
        .is_none());
    assert!(!table.mark_killing(&fw, &t, true));
    assert_eq!(table.next_deadline(), None);
}

#[test]
fn executor_resources_freed_with_its_last_task() {
    let fw = FrameworkId::new("f");
    let mut table = TaskTable::new(STEP);
    let group = table.new_group();
    table.launch(ms(0), launch("a", Some(10), Some("e"), Some(group)));
    table.launch(ms(0), launch("b", Some(50), Some("e"), Some(group)));
    assert!(table.executor_running(&fw, &AgentId::new("a"), &ExecutorId::new("e")));
    assert_eq!(table.kill_set(&fw, &TaskId::new("a")).len(), 2);
    let steps = table.advance(ms(1000));
    let freed: Vec<_> = steps.iter().filter(|s| !s.freed.is_empty()).collect();
    assert_eq!(freed[0].freed, Resources::new().with_cpus(1.0));
    assert_eq!(
        freed[1].freed,
        Resources::new().with_cpus(1.0).with_mem(32.0)
    );
    assert!(!table.executor_running(&fw, &AgentId::new("a"), &ExecutorId::new("e")));
}

#[test]
fn a_task_given_to_an_executor_already_up_starts_at_once() {
    let mut table = TaskTable::new(STEP);
    // The first task starts the executor: 10 ms to STARTING, 10 more to RUNNING.
    table.launch(ms(0), launch("first", None, Some("e"), None));
    // One sent while the executor is still starting waits for it to be up.
    table.launch(ms(5), launch("early", None, Some("e"), None));
    assert_eq!(table.next_deadline(), Some(ms(10)));
    assert_eq!(
        states(&table.advance(ms(10))),
        [TaskState::Starting, TaskState::Starting]
    );
    assert_eq!(
        states(&table.advance(ms(20))),
        [TaskState::Running, TaskState::Running]
    );
    // Once it is up, a task sent to it is STARTING and RUNNING at the instant.
    table.launch(ms(30), launch("warm", Some(100), Some("e"), None));
    assert_eq!(table.next_deadline(), Some(ms(30)));
    let steps = table.advance(ms(30));
    assert_eq!(states(&steps), [TaskState::Starting, TaskState::Running]);
    assert!(steps.iter().all(|s| s.task == TaskId::new("warm")));
    // Another executor of the same framework on the agent pays its own start-up.
    table.launch(ms(40), launch("cold", None, Some("other"), None));
    assert_eq!(table.next_deadline(), Some(ms(50)));
}
