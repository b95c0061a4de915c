//! Work from outside: inputs between events, demand re-read after each,
//! timers at their virtual instant, a full input channel.

use super::fake::*;

/// Work that arrives from outside: each input adds jobs; one 1-cpu task per
/// offer while jobs wait; `wants_offers` says whether any wait.
#[derive(Clone, Default)]
struct Queue {
    jobs: usize,
    log: Arc<Mutex<Vec<String>>>,
    /// Retry after this long when a launch fails (a timer), if set.
    retry_after: Option<Duration>,
    started: Option<tokio::time::Instant>,
}

impl Queue {
    fn log(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[async_trait]
impl Scheduler for Queue {
    async fn subscribed(&mut self, driver: &dyn Driver, _: &Subscribed) {
        self.started = Some(tokio::time::Instant::now());
        if let Some(delay) = self.retry_after {
            driver.wake_after(delay, 42);
        }
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        for offer in offers {
            self.log(format!("offer {}", offer.id));
            if self.jobs == 0 {
                continue;
            }
            let task = TaskInfo::new(format!("job-{}", offer.id))
                .with_resources(Resources::new().with_cpus(1.0));
            if driver.launch(&offer, vec![task]).await.is_ok() {
                self.jobs -= 1;
            }
        }
    }

    async fn timer(&mut self, _: &dyn Driver, tag: u64) {
        let at = self.started.map(|t| t.elapsed()).unwrap_or_default();
        self.log(format!("timer {tag} at {at:?}"));
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(self.jobs > 0)
    }
}

#[async_trait]
impl WithInputs for Queue {
    type Input = usize;
    async fn input(&mut self, _: &dyn Driver, jobs: usize) {
        self.log(format!("input {jobs}"));
        self.jobs += jobs;
    }
}

/// The kinds of the calls other than SUBSCRIBE, ACKNOWLEDGE and RECONCILE,
/// in order.
fn demand_calls(wire: &Fake) -> Vec<String> {
    wire.kinds()
        .into_iter()
        .filter(|k| {
            !matches!(
                k,
                CallKind::Reconcile | CallKind::Subscribe | CallKind::Acknowledge
            )
        })
        .map(|k| format!("{k:?}"))
        .collect()
}

/// Runs `queue` fed from `inputs` on `wire` and lets it settle.
async fn launch_fed(
    wire: &Fake,
    queue: &Queue,
    inputs: corral::Inputs<usize>,
) -> (corral::DriverHandle, Run) {
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run_with_inputs(queue.clone(), inputs));
    settle().await;
    (driver, run)
}

#[tokio::test(start_paused = true)]
async fn an_idle_suppressed_framework_revives_at_once_on_an_input_and_suppresses_when_done() {
    let wire = Fake::default();
    // A master that heartbeats rarely, so 120 s of quiet is not a silence.
    wire.wire.lock().unwrap().heartbeat = Some(Duration::from_secs(3600));
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
    assert_eq!(demand_calls(&wire), vec!["Suppress"], "idle: suppressed");
    // Long after: no revive happens by itself.
    tokio::time::advance(Duration::from_secs(120)).await;
    settle().await;
    assert_eq!(demand_calls(&wire), vec!["Suppress"]);
    let before = tokio::time::Instant::now();
    sender.send(1).await.unwrap();
    settle().await;
    assert_eq!(
        demand_calls(&wire),
        vec!["Suppress", "Revive"],
        "the input's work revives at once (well within one rate-limit interval)"
    );
    assert_eq!(
        tokio::time::Instant::now(),
        before,
        "no virtual time passed"
    );
    wire.stream(0).send(Ok(offers("o1", "a", 2.0))).unwrap();
    settle().await;
    assert_eq!(
        demand_calls(&wire),
        vec!["Suppress", "Revive", "Accept", "Suppress"],
        "the work launched: suppressed again"
    );
    assert_eq!(queue.lines(), vec!["input 1", "offer o1"]);
    driver.stop();
    run.await.unwrap().unwrap();
}

/// Runs one scripted scenario where inputs and events race, and returns the
/// order the scheduler saw them in.
async fn interleaving() -> Vec<String> {
    let wire = Fake::default();
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
    let master = wire.stream(0);
    // Both ready at the same instant, several times over.
    for round in 0..3 {
        sender.send(round + 1).await.unwrap();
        master
            .send(Ok(offers(&format!("o{round}"), "a", 1.0)))
            .unwrap();
        sender.send(10).await.unwrap();
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    settle().await;
    driver.stop();
    run.await.unwrap().unwrap();
    queue.lines()
}

#[tokio::test(start_paused = true)]
async fn inputs_and_master_events_interleave_in_the_same_order_every_run() {
    let first = interleaving().await;
    assert_eq!(first.len(), 9, "{first:?}");
    for _ in 0..5 {
        assert_eq!(interleaving().await, first);
    }
    // An event ready with an input goes first.
    assert_eq!(first[0], "offer o0", "{first:?}");
}

#[tokio::test(start_paused = true)]
async fn a_timer_driven_retry_fires_at_its_virtual_instant() {
    let wire = Fake::default();
    let queue = Queue {
        retry_after: Some(Duration::from_secs(3)),
        ..Queue::default()
    };
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(queue.clone()));
    settle().await;
    // Heartbeats keep the (1 s interval) connection alive meanwhile.
    for _ in 0..29 {
        wire.stream(0).send(Ok(MasterEvent::Heartbeat)).unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        settle().await;
    }
    assert!(
        queue.lines().is_empty(),
        "not before 3 s: {:?}",
        queue.lines()
    );
    tokio::time::advance(Duration::from_millis(100)).await;
    settle().await;
    assert_eq!(queue.lines(), vec!["timer 42 at 3s"]);
    // From outside the handlers, through the handle.
    driver.wake_after(Duration::from_millis(500), 7);
    tokio::time::advance(Duration::from_millis(500)).await;
    settle().await;
    assert_eq!(queue.lines(), vec!["timer 42 at 3s", "timer 7 at 3.5s"]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_full_input_channel_makes_send_wait_and_try_send_give_the_input_back() {
    let (sender, inputs) = inputs::channel::<usize>(1);
    sender.try_send(1).unwrap();
    assert_eq!(
        sender.try_send(2),
        Err(TrySendError::Full(2)),
        "full: given back"
    );
    let waiting = tokio::spawn({
        let sender = sender.clone();
        async move { sender.send(3).await }
    });
    settle().await;
    assert!(
        !waiting.is_finished(),
        "send waits while the channel is full"
    );
    // The framework starts taking inputs: the waiting send goes through.
    let wire = Fake::default();
    let queue = Queue::default();
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
    assert!(waiting.is_finished());
    waiting.await.unwrap().unwrap();
    assert_eq!(queue.lines(), vec!["input 1", "input 3"], "nothing lost");
    driver.stop();
    run.await.unwrap().unwrap();
    // Stopped: the input comes back as closed.
    assert_eq!(sender.send(4).await, Err(inputs::Closed(4)));
    assert_eq!(sender.try_send(5), Err(TrySendError::Closed(5)));
}

#[tokio::test(start_paused = true)]
async fn refresh_demand_rereads_wants_offers_without_an_input() {
    struct Flag(Arc<Mutex<bool>>);
    #[async_trait]
    impl Scheduler for Flag {
        async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
        fn wants_offers(&self, _: &Role) -> Option<bool> {
            Some(*self.0.lock().unwrap())
        }
    }
    let wire = Fake::default();
    let wants = Arc::new(Mutex::new(false));
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(Flag(wants.clone())));
    settle().await;
    assert_eq!(demand_calls(&wire), vec!["Suppress"]);
    *wants.lock().unwrap() = true;
    settle().await;
    assert_eq!(
        demand_calls(&wire),
        vec!["Suppress"],
        "nothing noticed it yet"
    );
    driver.refresh_demand();
    settle().await;
    assert_eq!(demand_calls(&wire), vec!["Suppress", "Revive"]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn inputs_reach_the_scheduler_while_disconnected_and_demand_applies_on_resubscription() {
    let wire = Fake::default();
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
    // The master goes away; the next two subscriptions are refused.
    wire.wire.lock().unwrap().refuse_next_subscribes = 2;
    wire.stream(0)
        .send(Err(TransportError::Unavailable("gone".into())))
        .unwrap();
    settle().await;
    sender.send(2).await.unwrap();
    settle().await;
    assert_eq!(queue.lines(), vec!["input 2"], "taken while disconnected");
    for _ in 0..20 {
        tokio::time::advance(Duration::from_millis(250)).await;
        settle().await;
    }
    assert_eq!(wire.subscribe_calls(), 4, "first + 2 refused + 1 accepted");
    assert_eq!(
        wire.calls_of(CallKind::Revive).len(),
        1,
        "once resubscribed, the input's work revives"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}
