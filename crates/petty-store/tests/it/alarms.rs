//! Alarms and the outbox as stored, on both engines: one open alarm per source and type under
//! concurrency, the lifecycle with its trail, rules seeded and tuned, contacts in escalation
//! order, and the outbox's idempotent keys, leases and cancellation on acknowledgement.

use petty_core::alarm::{AlarmState, Channel, Policy, Severity};
use petty_store::{AlarmFilter, NewAlarm, NewContact, NewNotification, StoreError};

use crate::fixtures::{T0, owner};
use crate::harness::store_test;

fn alarm(source: &str, kind: &str, at_ms: i64) -> NewAlarm {
    NewAlarm {
        rule_id: None,
        source: source.into(),
        alarm_type: kind.into(),
        device_id: None,
        pet_id: None,
        severity: Severity::Critical,
        title: "CO high".into(),
        message: "co_ppm 120 is above 50".into(),
        value: Some(120.0),
        evidence: vec![(at_ms, 120.0)],
        at_ms,
        quiet: false,
    }
}

store_test!(concurrent_raises_make_one_open_alarm_with_occurrences, |store| async move {
    let (_, m) = owner(&store, "ana@example.com").await;
    let h = m.household_id;
    let t = petty_store::to_ms(T0);
    let raises: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.raise_alarm(h, &alarm("device:a", "co_high", t + i)).await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for r in raises {
        results.push(r.await.unwrap());
    }
    assert_eq!(results.iter().filter(|(_, fresh)| *fresh).count(), 1);
    let id = results[0].0.id;
    let stored = store.get_alarm(h, id).await.unwrap();
    assert_eq!(stored.occurrences, 50);
    assert_eq!(stored.evidence.len(), 1);

    // Another type at the same source is another alarm; once cleared, the next raise is new.
    let (other, fresh) = store.raise_alarm(h, &alarm("device:a", "co_dose", t)).await.unwrap();
    assert!(fresh && other.id != id);
    let cleared = store.clear_open_alarm(h, "device:a", "co_high", "back to normal", t + 100).await.unwrap();
    assert_eq!(cleared.map(|a| a.state), Some(AlarmState::Cleared));
    let (again, fresh) = store.raise_alarm(h, &alarm("device:a", "co_high", t + 200)).await.unwrap();
    assert!(fresh && again.id != id && again.occurrences == 1);
});

store_test!(a_device_s_open_alarms_are_read_with_their_starts_and_nothing_else, |store| async move {
    // What the alarm job rebuilds a device's rule runs from: its open alarms (active or
    // acknowledged), not cleared ones, another device's or another household's.
    let (user, m) = owner(&store, "ana@example.com").await;
    let (h, t) = (m.household_id, petty_store::to_ms(T0));
    let device = petty_core::ids::DeviceId(uuid::Uuid::now_v7());
    let source = format!("device:{device}");
    let (high, _) = store.raise_alarm(h, &alarm(&source, "co_high", t)).await.unwrap();
    store.raise_alarm(h, &alarm(&source, "co_dose", t + 5)).await.unwrap();
    store.raise_alarm(h, &alarm(&source, "co_high", t + 9)).await.unwrap(); // an occurrence
    store.raise_alarm(h, &alarm(&source, "battery_low", t + 7)).await.unwrap();
    store.clear_open_alarm(h, &source, "battery_low", "charged", t + 8).await.unwrap();
    store.raise_alarm(h, &alarm("device:other", "co_high", t + 1)).await.unwrap();
    let (_, elsewhere) = owner(&store, "bo@example.com").await;
    store.raise_alarm(elsewhere.household_id, &alarm(&source, "co_low", t + 2)).await.unwrap();
    let actor = petty_core::alarm::TrailActor::User(user.id);
    store.transition_alarm(h, high.id, AlarmState::Acknowledged, actor, "seen", t + 10).await.unwrap();

    let mut open = store.open_alarm_starts(h, device).await.unwrap();
    open.sort();
    assert_eq!(open, vec![("co_dose".to_owned(), t + 5), ("co_high".to_owned(), t)]);
});

store_test!(the_lifecycle_keeps_a_trail_and_cancels_what_has_not_gone, |store| async move {
    let (user, m) = owner(&store, "ana@example.com").await;
    let h = m.household_id;
    let t = petty_store::to_ms(T0);
    let (a, _) = store.raise_alarm(h, &alarm("device:b", "co_high", t)).await.unwrap();
    let n = NewNotification {
        household_id: h,
        idem_key: format!("alarm:{}:r0c0sms", a.id),
        alarm_id: Some(a.id),
        contact_id: None,
        channel: Channel::Sms,
        recipient: "+14155550101".into(),
        subject: String::new(),
        body: "CO".into(),
        payload: String::new(),
        not_before_ms: t + 60_000,
    };
    assert!(store.enqueue_notification(&n, t).await.unwrap());
    assert!(!store.enqueue_notification(&n, t).await.unwrap(), "one row per key");
    assert!(store.claim_notifications(t, 1000, 10).await.unwrap().is_empty(), "not due yet");

    let actor = petty_core::alarm::TrailActor::User(user.id);
    let acked = store.transition_alarm(h, a.id, AlarmState::Acknowledged, actor, "seen", t + 10).await.unwrap();
    assert_eq!((acked.state, acked.acknowledged_by), (AlarmState::Acknowledged, Some(actor)));
    assert!(matches!(
        store.transition_alarm(h, a.id, AlarmState::Acknowledged, actor, "", t + 11).await,
        Err(StoreError::Conflict(_))
    ));
    let rows = store.notifications(h, Some(a.id), 10).await.unwrap();
    assert_eq!(rows[0].status, "cancelled", "acknowledging cancels what has not gone");
    store.alarm_note(h, a.id, "comment", actor, "window open", t + 20).await.unwrap();
    store.transition_alarm(h, a.id, AlarmState::Cleared, actor, "", t + 30).await.unwrap();
    let trail: Vec<(String, String)> =
        store.alarm_events(h, a.id).await.unwrap().into_iter().map(|e| (e.kind, e.actor.to_string())).collect();
    let user = actor.to_string();
    let by = |kind: &str, who: &str| (kind.to_owned(), who.to_owned());
    assert_eq!(
        trail,
        [by("raised", "system"), by("acknowledged", &user), by("comment", &user), by("cleared", &user)],
        "each line says who"
    );

    let open = AlarmFilter { states: vec![AlarmState::Active], limit: 10, ..AlarmFilter::default() };
    assert!(store.list_alarms(h, &open).await.unwrap().is_empty());
    // Pages with their totals: two alarms, one a page; and the outbox the same way.
    store.raise_alarm(h, &alarm("device:c", "co_high", t + 40)).await.unwrap();
    let one = petty_core::paging::PageRequest { page: 1, page_size: 1 };
    let first = store.page_alarms(h, &AlarmFilter::default(), one).await.unwrap();
    assert_eq!((first.total, first.items.len(), first.has_next()), (2, 1, true));
    assert_eq!(first.items[0].source, "device:c", "newest first");
    let second = store
        .page_alarms(h, &AlarmFilter::default(), petty_core::paging::PageRequest { page: 2, ..one })
        .await
        .unwrap();
    assert_eq!((second.total, second.items[0].id, second.has_next()), (2, a.id, false));
    let cleared = AlarmFilter { states: vec![AlarmState::Cleared], ..AlarmFilter::default() };
    assert_eq!(store.page_alarms(h, &cleared, one).await.unwrap().total, 1);
    let outbox = store.page_notifications(h, Some(a.id), true, one).await.unwrap();
    assert_eq!((outbox.total, outbox.items[0].status.as_str()), (1, "cancelled"));
    assert_eq!(store.page_notifications(h, Some(a.id), false, one).await.unwrap().total, 1, "an SMS is not a webhook");
    let (_, other) = owner(&store, "bo@example.com").await;
    assert!(matches!(store.get_alarm(other.household_id, a.id).await, Err(StoreError::NotFound)));
});

store_test!(a_claimed_notification_is_claimed_again_only_after_its_lease, |store| async move {
    let (_, m) = owner(&store, "ana@example.com").await;
    let t = petty_store::to_ms(T0);
    let n = NewNotification {
        household_id: m.household_id,
        idem_key: "k1".into(),
        alarm_id: None,
        contact_id: None,
        channel: Channel::Email,
        recipient: "ana@example.com".into(),
        subject: "s".into(),
        body: "b".into(),
        payload: String::new(),
        not_before_ms: t,
    };
    store.enqueue_notification(&n, t).await.unwrap();
    let first = store.claim_notifications(t, 1000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(store.claim_notifications(t + 500, 1000, 10).await.unwrap().is_empty(), "leased");
    let again = store.claim_notifications(t + 1000, 1000, 10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2), "the lease ran out: claimed again, attempt counted");
    store.notification_failed(&again[0], "timeout", Some(t + 5000), t + 1000).await.unwrap();
    assert!(store.claim_notifications(t + 4000, 1000, 10).await.unwrap().is_empty(), "backing off");
    let third = store.claim_notifications(t + 5000, 1000, 10).await.unwrap();
    store.notification_sent(&third[0], "msg-1", t + 5000).await.unwrap();
    let rows = store.notifications(m.household_id, None, 10).await.unwrap();
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts, rows[0].provider_ref.as_deref()),
        ("sent", 3, Some("msg-1"))
    );
});

store_test!(rules_are_seeded_once_and_contacts_come_in_escalation_order, |store| async move {
    let (user, m) = owner(&store, "ana@example.com").await;
    let h = m.household_id;
    let t = petty_store::to_ms(T0);
    let (a, b) = tokio::join!(store.alarm_rules(h, t), store.alarm_rules(h, t));
    assert_eq!(a.unwrap().len(), petty_core::alarm::builtin_rules().len());
    assert_eq!(b.unwrap().len(), petty_core::alarm::builtin_rules().len(), "seeded once, even concurrently");
    let rules = store.alarm_rules(h, t).await.unwrap();
    let co = rules.iter().find(|r| r.rule.key.as_deref() == Some("co_high")).unwrap();
    let mut tuned = co.rule.clone();
    tuned.value = 35.0;
    tuned.clear_value = 25.0;
    assert_eq!(store.update_alarm_rule(h, co.id, &tuned, t).await.unwrap().rule.value, 35.0);
    assert!(matches!(store.delete_alarm_rule(h, co.id).await, Err(StoreError::NotFound)));

    let contact = |name: &str, role: &str, position: i64, user_id| NewContact {
        user_id,
        external_id: None,
        name: name.into(),
        phone: Some("+14155550101".into()),
        email: None,
        role: role.into(),
        position,
        device_serial: None,
        policy: Policy::default(),
    };
    store.create_contact(h, &contact("Emergency", "emergency", 0, None), t).await.unwrap();
    store.create_contact(h, &contact("Neighbour", "secondary", 2, None), t).await.unwrap();
    store.create_contact(h, &contact("Ana", "member", 9, Some(user.id)), t).await.unwrap();
    store.create_contact(h, &contact("Friend", "secondary", 1, None), t).await.unwrap();
    let order: Vec<String> = store.contacts(h).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(order, ["Ana", "Friend", "Neighbour", "Emergency"]);
    assert!(matches!(
        store.create_contact(h, &contact("Ana again", "member", 0, Some(user.id)), t).await,
        Err(StoreError::Conflict(_))
    ));
});
