//! Answers to revocation notices as the shell sends them: kills before
//! the confirmation, and what each refusal of the master means.

use super::fake::*;

#[tokio::test(start_paused = true)]
async fn the_default_revocation_kills_first_then_accepts() {
    let wire = Fake::default();
    let (driver, run) = launch_with(&wire, Config::default(), Defaults).await;
    let master = wire.stream(0);
    master
        .send(Ok(update("t1", TaskState::Running, 1)))
        .unwrap();
    master
        .send(Ok(update("t2", TaskState::Killing, 2)))
        .unwrap();
    settle().await;
    let before = wire.kinds().len();
    master
        .send(Ok(notice_event(&notice("rev-1", &["t1", "t2", "t3"]))))
        .unwrap();
    settle().await;
    let sent: Vec<CallKind> = wire
        .kinds()
        .split_off(before)
        .into_iter()
        .filter(|k| *k != CallKind::Acknowledge)
        .collect();
    assert_eq!(
        sent,
        vec![
            CallKind::Kill,
            CallKind::Kill,
            CallKind::AcceptInverseOffers
        ],
        "the kills (t2 is being killed already) first, then the confirmation"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn release_takes_gone_tasks_and_a_withdrawn_notice_as_done_but_not_other_refusals() {
    let wire = Fake::default();
    let (driver, run) = launch(&wire, &Recorder::default()).await;
    let n = notice("rev-1", &["t1", "t2"]);
    let master = wire.stream(0);
    // The master forgot both tasks (they ended) and the notice.
    wire.reject(vec![
        (CallKind::Kill, RejectKind::NotFound),
        (CallKind::AcceptInverseOffers, RejectKind::NotFound),
        (CallKind::DeclineInverseOffers, RejectKind::NotFound),
    ]);
    // Not seen withdrawn (here: never even delivered): the master's
    // NotFound is an unknown notice, not "already withdrawn".
    for answer in [
        driver.release(&n).await,
        driver.decline_revocation(&n).await,
    ] {
        assert!(
            matches!(
                &answer,
                Err(Error::UnknownNotice { notice, source: TransportError::Rejected { kind: RejectKind::NotFound, .. } })
                    if notice.as_str() == "rev-1"
            ),
            "{answer:?}"
        );
    }
    // Delivered, then withdrawn: the late answers are done.
    master.send(Ok(notice_event(&n))).unwrap();
    master
        .send(Ok(MasterEvent::RescindInverseOffer("rev-1".into())))
        .unwrap();
    settle().await;
    driver.release(&n).await.unwrap();
    driver.decline_revocation(&n).await.unwrap();
    // Any other refusal of a kill stops the release before the accept.
    wire.reject(vec![
        (CallKind::Kill, RejectKind::InvalidArgument),
        (CallKind::AcceptInverseOffers, RejectKind::Other),
    ]);
    assert!(matches!(
        driver.release(&n).await,
        Err(Error::Transport(TransportError::Rejected {
            kind: RejectKind::InvalidArgument,
            ..
        }))
    ));
    wire.reject(vec![(CallKind::AcceptInverseOffers, RejectKind::Other)]);
    assert!(matches!(
        driver.release(&n).await,
        Err(Error::Transport(TransportError::Rejected {
            kind: RejectKind::Other,
            ..
        }))
    ));
    wire.reject(vec![]);
    let kinds: Vec<CallKind> = wire
        .kinds()
        .into_iter()
        .filter(|k| !matches!(k, CallKind::Subscribe | CallKind::Reconcile))
        .collect();
    assert_eq!(
        kinds,
        vec![CallKind::Kill, CallKind::Kill],
        "only the last release's kills got through"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}
