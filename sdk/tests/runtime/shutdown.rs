//! How a run ends: teardown and the acknowledgements still in flight,
//! joined within a bound.

use super::fake::*;

#[tokio::test(start_paused = true)]
async fn teardown_with_nothing_in_flight_goes_out_at_once() {
    let wire = Fake::default();
    let (driver, run) = launch(&wire, &Recorder::default()).await;
    let t0 = tokio::time::Instant::now();
    driver.teardown().await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "no wait when no ack is on its way"
    );
    assert_eq!(wire.calls_of(CallKind::Teardown).len(), 1);
    assert_eq!(run.await.unwrap().unwrap(), Stopped::TornDown);
}

#[tokio::test(start_paused = true)]
async fn teardown_waits_for_the_acks_in_flight_and_no_longer() {
    let wire = Fake::default();
    let (driver, run) = launch(&wire, &Recorder::default()).await;
    wire.wire.lock().unwrap().ack_delay = Some(Duration::from_secs(1));
    let master = wire.stream(0);
    master
        .send(Ok(update("t1", TaskState::Running, 1)))
        .unwrap();
    master
        .send(Ok(update("t2", TaskState::Running, 2)))
        .unwrap();
    settle().await;
    assert!(
        wire.calls_of(CallKind::Acknowledge).is_empty(),
        "the acks are still on their way"
    );
    let t0 = tokio::time::Instant::now();
    driver.teardown().await.unwrap();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(2),
        "teardown waited {waited:?}: as long as the acks took, not to its limit"
    );
    let kinds: Vec<CallKind> = wire
        .kinds()
        .into_iter()
        .filter(|t| matches!(t, CallKind::Acknowledge | CallKind::Teardown))
        .collect();
    assert_eq!(
        kinds,
        vec![
            CallKind::Acknowledge,
            CallKind::Acknowledge,
            CallKind::Teardown
        ]
    );
    assert_eq!(run.await.unwrap().unwrap(), Stopped::TornDown);
}

#[tokio::test(start_paused = true)]
async fn the_acks_still_on_their_way_are_joined_when_the_run_ends_within_a_bound() {
    for (delay, sent) in [(Duration::from_secs(1), 1), (Duration::from_secs(60), 0)] {
        let wire = Fake::default();
        let (driver, run) = launch(&wire, &Recorder::default()).await;
        wire.wire.lock().unwrap().ack_delay = Some(delay);
        wire.stream(0)
            .send(Ok(update("t1", TaskState::Running, 1)))
            .unwrap();
        settle().await;
        assert!(
            wire.calls_of(CallKind::Acknowledge).is_empty(),
            "the ack is on its way"
        );
        let t0 = tokio::time::Instant::now();
        driver.stop();
        assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
        let waited = t0.elapsed();
        assert_eq!(
            wire.calls_of(CallKind::Acknowledge).len(),
            sent,
            "{delay:?}: the run's own ack is not left running past it"
        );
        // As long as the ack took, or the 5 s bound, not more.
        let bound = delay.min(Duration::from_secs(5));
        assert!(
            waited >= bound && waited < bound + Duration::from_secs(1),
            "{delay:?}: waited {waited:?}"
        );
    }
}
