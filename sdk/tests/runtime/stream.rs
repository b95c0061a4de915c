//! The stream form: inputs merged by the reader, timers, revocation
//! notices left to the reader, a panic in the runtime's task.

use super::fake::*;

/// The stream form of external work: the reader merges its own channel
/// into its loop and asks for timers through the driver; the timer comes
/// back as `Event::Timer` at its virtual instant, after the input that
/// arrived before it and in order with the master's events.
#[tokio::test(start_paused = true)]
async fn the_stream_reader_merges_its_inputs_and_gets_its_timers_at_their_instant() {
    let wire = Fake::default();
    let framework = Framework::new(info(), wire.clone());
    let (driver, mut events) = framework.into_stream();
    assert!(matches!(
        events.next().await.unwrap(),
        corral::Event::Subscribed(_)
    ));
    let start = tokio::time::Instant::now();
    driver.wake_after(Duration::from_secs(3), 7);
    let (inputs, mut from_outside) = tokio::sync::mpsc::channel::<&str>(4);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        inputs.send("build queued").await.unwrap();
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        tokio::select! {
            biased;
            event = events.next() => match event.unwrap() {
                corral::Event::Timer(tag) => seen.push(format!("timer {tag} at {:?}", start.elapsed())),
                corral::Event::Offers(offers) => {
                    seen.push(format!("offers {} at {:?}", offers.len(), start.elapsed()))
                }
                other => panic!("unexpected {other:?}"),
            },
            Some(input) = from_outside.recv() => {
                seen.push(format!("{input} at {:?}", start.elapsed()));
                wire.stream(0).send(Ok(offers("o1", "a", 1.0))).unwrap();
            }
        }
    }
    assert_eq!(
        seen,
        ["build queued at 1s", "offers 1 at 1s", "timer 7 at 3s"]
    );
    driver.stop();
    drop(events);
}

#[tokio::test(start_paused = true)]
async fn the_stream_yields_revocation_notices_and_leaves_the_answer_to_its_reader() {
    let wire = Fake::default();
    let framework = Framework::new(info(), wire.clone());
    let (driver, mut events) = framework.into_stream();
    assert!(matches!(
        events.next().await.unwrap(),
        corral::Event::Subscribed(_)
    ));
    let sent = notice("rev-1", &["t1"]);
    wire.stream(0).send(Ok(notice_event(&sent))).unwrap();
    let corral::Event::Revocation(got) = events.next().await.unwrap() else {
        panic!("expected a revocation notice")
    };
    assert_eq!(got, sent);
    settle().await;
    assert!(
        wire.calls_of(CallKind::AcceptInverseOffers).is_empty(),
        "the stream does not answer for its reader"
    );
    driver.release(&got).await.unwrap();
    assert_eq!(wire.calls_of(CallKind::AcceptInverseOffers).len(), 1);
    driver.stop();
    drop(events);
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_streams_runtime_task_comes_back_from_finish_named_so() {
    let wire = Fake::default();
    wire.wire.lock().unwrap().panic_on = Some(CallKind::Reconcile);
    let framework = Framework::new(info(), wire.clone());
    let (_driver, mut events) = framework.into_stream();
    // SUBSCRIBED is yielded; the reconciliation after it panics in the
    // transport, on the runtime's task: the stream ends.
    assert!(matches!(
        events.next().await,
        Some(corral::Event::Subscribed(_))
    ));
    assert_eq!(events.next().await, None);
    let result = events.finish().await;
    assert!(
        matches!(&result, Err(Error::RuntimePanicked(m)) if m.contains("the transport broke")),
        "{result:?}"
    );
}
