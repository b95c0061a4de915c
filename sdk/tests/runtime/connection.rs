//! Subscribing, the heartbeat silence deadline, resubscription with the
//! same id, queued revives at their instant, and how a run ends on an
//! ERROR or a refused framework info.

use super::fake::*;

#[tokio::test(start_paused = true)]
async fn a_silent_master_means_disconnected_then_resubscribe_with_same_id_and_reconcile() {
    let wire = Fake::default();
    let rec = Recorder::default();
    let (driver, run) = launch(&wire, &rec).await;
    wire.stream(0)
        .send(Ok(update("t1", TaskState::Running, 1)))
        .unwrap();
    settle().await;
    // Refuse the next two attempts so backoff is exercised, then accept.
    wire.wire.lock().unwrap().refuse_next_subscribes = 2;
    // Heartbeat interval is 1 s, 5 may be missed: silence for 5 s ends the connection.
    tokio::time::advance(Duration::from_millis(4_900)).await;
    settle().await;
    assert!(
        !rec.lines().iter().any(|l| l.starts_with("disconnected")),
        "4.9 s of silence is allowed"
    );
    tokio::time::advance(Duration::from_millis(200)).await;
    settle().await;
    assert!(rec
        .lines()
        .contains(&"disconnected true call_while_disconnected=true".to_owned()));
    // Backoff: 2 refused attempts then success, all within a few seconds.
    for _ in 0..40 {
        tokio::time::advance(Duration::from_millis(250)).await;
        settle().await;
        // The live master heartbeats (old streams' senders are dead ends).
        let newest = wire.wire.lock().unwrap().subscriptions.last().cloned();
        if let Some(master) = newest {
            let _ = master.send(Ok(MasterEvent::Heartbeat));
        }
    }
    assert_eq!(wire.subscribe_calls(), 4, "first + 2 refused + 1 accepted");
    let Some(Call::Subscribe(resubscribe)) = wire.calls_of(CallKind::Subscribe).pop() else {
        unreachable!()
    };
    assert_eq!(resubscribe.framework.id, Some("fw-1".into()));
    assert!(rec
        .lines()
        .contains(&"subscribed fw-1 resubscribed=true".to_owned()));
    // Explicit reconcile for the task we know, then implicit.
    let reconciles: Vec<usize> = wire
        .calls_of(CallKind::Reconcile)
        .iter()
        .rev()
        .take(2)
        .map(|c| match c {
            Call::Reconcile(tasks) => tasks.len(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(reconciles, vec![0, 1]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_queued_revive_goes_out_when_its_interval_ends() {
    let wire = Fake::default();
    let rec = Recorder {
        wants: Some(false),
        ..Recorder::default()
    };
    let (driver, run) = launch(&wire, &rec).await;
    assert_eq!(
        wire.calls_of(CallKind::Suppress),
        vec![Call::Suppress(vec![Role::from("a"), Role::from("b")])],
        "nothing to run: both roles suppressed"
    );
    // Three revives in quick succession: the first goes out, the rest coalesce into one later.
    let a = [Role::from("a")];
    driver.revive(&a).await.unwrap();
    driver.revive(&a).await.unwrap();
    driver.revive(&a).await.unwrap();
    settle().await;
    assert_eq!(wire.calls_of(CallKind::Revive).len(), 1);
    tokio::time::advance(Duration::from_millis(999)).await;
    settle().await;
    assert_eq!(wire.calls_of(CallKind::Revive).len(), 1, "not before 1 s");
    tokio::time::advance(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(
        wire.calls_of(CallKind::Revive).len(),
        2,
        "the queued revive is sent when the interval ends"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_error_event_ends_the_run() {
    let wire = Fake::default();
    let (_driver, run) = launch(&wire, &Recorder::default()).await;
    wire.stream(0)
        .send(Ok(MasterEvent::Error("framework removed".into())))
        .unwrap();
    let result = run.await.unwrap();
    assert!(matches!(result, Err(Error::EndedByMaster(m)) if m == "framework removed"));
}

#[tokio::test(start_paused = true)]
async fn invalid_framework_info_is_refused_before_connecting() {
    let wire = Fake::default();
    let bad = FrameworkInfo::new("x").with_roles(["ok", "bad role"]);
    let result = Framework::new(bad, wire.clone())
        .run(Recorder::default())
        .await;
    assert!(matches!(result, Err(Error::InvalidFrameworkInfo(_))));
    assert_eq!(wire.subscribe_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_silence_deadline_follows_the_announced_interval_however_long() {
    // What a transport yields for the wire's 1e20, infinity (capped to an
    // hour), NaN, negative or missing (Mesos's 15 s): corral-proto's
    // `a_subscribed_with_a_huge_nan_or_negative_heartbeat_is_read_with_a_capped_interval`.
    // And a `Duration::MAX`, which `Subscribed::new` caps too.
    for (interval, silent_after) in [
        (Duration::from_secs(3600), Duration::from_secs(5 * 3600)),
        (Duration::MAX, Duration::from_secs(5 * 3600)),
        (Duration::from_secs(15), Duration::from_secs(75)),
    ] {
        let wire = Fake::default();
        wire.wire.lock().unwrap().heartbeat = Some(interval);
        let rec = Recorder::default();
        let (driver, run) = launch(&wire, &rec).await;
        wire.stream(0).send(Ok(offers("o1", "a", 1.0))).unwrap();
        settle().await;
        assert!(
            rec.lines().contains(&"offer o1 role a".to_owned()),
            "{interval:?}"
        );
        tokio::time::advance(silent_after - Duration::from_secs(1)).await;
        settle().await;
        assert!(
            !rec.lines().iter().any(|l| l.starts_with("disconnected")),
            "{interval:?}: still connected just before the silence"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        settle().await;
        assert!(
            rec.lines()
                .iter()
                .any(|l| l.starts_with("disconnected true")),
            "{interval:?}: the silence is noticed"
        );
        driver.stop();
        assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
    }
}

#[tokio::test(start_paused = true)]
async fn a_huge_missed_heartbeats_count_does_not_overflow_the_silence_deadline() {
    let wire = Fake::default();
    wire.wire.lock().unwrap().heartbeat = Some(Duration::MAX);
    let config = Config::default()
        .with_missed_heartbeats(u32::MAX)
        .with_min_revive_interval(Duration::MAX);
    let rec = Recorder::default();
    let (driver, run) = launch_with(&wire, config, rec.clone()).await;
    driver.revive(&[Role::from("a")]).await.unwrap();
    driver.revive(&[Role::from("a")]).await.unwrap();
    wire.stream(0).send(Ok(offers("o1", "a", 1.0))).unwrap();
    settle().await;
    assert!(rec.lines().contains(&"offer o1 role a".to_owned()));
    driver.stop();
    assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
}
