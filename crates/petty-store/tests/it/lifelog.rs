//! The life log on both engines: a person's events are theirs in every household, a pet's its
//! household's; all of a batch or none; JSON kept as sent; newest first with filters.

use petty_core::ids::{HouseholdId, LifeEventId};
use petty_core::lifelog::{EventContent, EventData, EventType, Subject};
use petty_core::paging::PageRequest;
use petty_core::pets::Species;
use petty_store::{LifeEventFilter, NewLifeEvent, StoreError};
use time::Duration;

use crate::fixtures::{T0, at, owner, pet};
use crate::harness::store_test;

fn event(kind: EventType, title: &str, minutes_after_t0: i64) -> EventContent {
    EventContent::new(kind, title, T0 + Duration::minutes(minutes_after_t0))
}

store_test!(life_events_are_kept_listed_changed_and_removed_per_subject, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "eve@example.org").await;
    let h = home.household_id;
    let rex = store.create_pet(h, &pet("Rex", Species::Dog), T0).await.unwrap();
    let me = Subject::Person(ana.id);
    let new = |subject, content: EventContent, data: &str| NewLifeEvent {
        subject,
        household_id: h,
        content,
        event_data_json: data.to_owned(),
        context_json: "{}".to_owned(),
        created_by: Some(ana.id),
    };
    let kept = store
        .add_life_events(
            &[
                new(me, event(EventType::Sleep, "Night", 0).with_duration(420), r#"{"quality": 8}"#),
                new(me, event(EventType::Exercise, "Run", 600), r#"{"distance_km": 8, "nested": {"a": [1, 2]}}"#),
                new(Subject::Pet(rex.id), event(EventType::Walk, "Park", 300), "{}"),
            ],
            at(1),
            50,
        )
        .await
        .unwrap()
        .events;
    assert_eq!(kept.len(), 3);
    let all = PageRequest { page: 1, page_size: 50 };
    let mine = store.list_life_events(me, h, &LifeEventFilter::default(), all).await.unwrap();
    let titles: Vec<&str> = mine.items.iter().map(|e| e.event.content.title.as_str()).collect();
    assert_eq!((mine.total, titles), (2, vec!["Run", "Night"]), "newest first, the pet's apart");
    assert_eq!(mine.items[0].event_data_json, r#"{"distance_km": 8, "nested": {"a": [1, 2]}}"#, "kept as sent");
    assert_eq!(mine.items[0].event.content.event_data.number("distance_km"), Some(8.0));
    // A person's log is theirs whichever household they act in.
    let elsewhere = store.list_life_events(me, other.household_id, &LifeEventFilter::default(), all).await.unwrap();
    assert_eq!(elsewhere.total, 2);
    let sleeps = LifeEventFilter { event_type: Some("sleep".into()), ..Default::default() };
    assert_eq!(store.list_life_events(me, h, &sleeps, all).await.unwrap().total, 1);
    let window = store.life_events_between(me, h, T0 + Duration::minutes(1), T0 + Duration::hours(11)).await.unwrap();
    assert_eq!(window.len(), 1);
    let pets = store.list_life_events(Subject::Pet(rex.id), h, &LifeEventFilter::default(), all).await.unwrap();
    assert_eq!(pets.total, 1);
    // Another household does not reach the pet's log.
    let none = store.list_life_events(Subject::Pet(rex.id), other.household_id, &LifeEventFilter::default(), all).await;
    assert_eq!(none.unwrap().total, 0);

    let run = &mine.items[0];
    let changed = event(EventType::Work, "Run to work", 600);
    let updated = store.update_life_event(run, &changed, r#"{"focus_level": 7}"#, "{}", at(2)).await.unwrap();
    assert_eq!(updated.event.updated_at, Some(at(2)));
    let read = store.get_life_event(me, h, run.event.id).await.unwrap();
    assert_eq!(
        (read.event.content.title.as_str(), read.event_data_json.as_str()),
        ("Run to work", r#"{"focus_level": 7}"#)
    );
    store.delete_life_event(me, h, run.event.id).await.unwrap();
    assert!(matches!(store.get_life_event(me, h, run.event.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_life_event(me, h, LifeEventId::new()).await, Err(StoreError::NotFound)));

    // A batch naming another household's pet keeps nothing.
    let stray = store.create_pet(other.household_id, &pet("Stray", Species::Cat), T0).await.unwrap();
    let err = store
        .add_life_events(
            &[
                new(me, event(EventType::Mood, "ok", 5), "{}"),
                new(Subject::Pet(stray.id), event(EventType::Meal, "x", 5), "{}"),
            ],
            at(3),
            50,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.list_life_events(me, h, &LifeEventFilter::default(), all).await.unwrap().total, 1);
});

store_test!(models_training_state_and_insights_are_kept_per_person, |store| async move {
    use petty_store::{InsightFilter, ModelKind, NewInsight};
    let (ana, _) = owner(&store, "ana@example.org").await;
    let (bo, _) = owner(&store, "bo@example.org").await;

    // Models: the newest per kind; its text only when the caller does not hold that version.
    assert_eq!(store.life_model(ana.id, ModelKind::Energy, None).await.unwrap(), None);
    store.save_life_model(ana.id, ModelKind::Energy, "user-20260101-1", T0, b"model one").await.unwrap();
    store.save_life_model(ana.id, ModelKind::Energy, "user-20260101-2", at(1), b"model two").await.unwrap();
    let (version, text) = store.life_model(ana.id, ModelKind::Energy, None).await.unwrap().unwrap();
    assert_eq!((version.as_str(), text.as_deref()), ("user-20260101-2", Some(&b"model two"[..])));
    let held = store.life_model(ana.id, ModelKind::Energy, Some("user-20260101-2")).await.unwrap().unwrap();
    assert_eq!(held.1, None, "a version the caller holds is not read again");
    assert_eq!(store.life_model(ana.id, ModelKind::Mood, None).await.unwrap(), None);

    // Training: 50 reports ask for it; a claim resets the count and numbers the day's runs.
    assert!(!store.note_life_reports(ana.id, 30, 50, T0).await.unwrap());
    assert!(store.note_life_reports(ana.id, 20, 50, T0).await.unwrap());
    let cutoff = T0 - Duration::hours(1);
    let claimed = store.claim_life_training(T0, cutoff, T0, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|c| (c.user_id, c.run_on_day)).collect::<Vec<_>>(), vec![(ana.id, 1)]);
    assert!(store.claim_life_training(T0, cutoff, T0, 10).await.unwrap().is_empty(), "claimed once");
    let state = store.life_training_state(ana.id).await.unwrap();
    assert_eq!((state.new_reports, state.requested_at, state.trained_at), (0, None, Some(T0)));
    // Asked for again the same day: not within the gap after the last run, then the second run.
    // New reports after the daily time: due.
    store.request_life_training(ana.id, at(1)).await.unwrap();
    assert!(store.claim_life_training(at(1), cutoff, T0, 10).await.unwrap().is_empty(), "too soon after");
    let again = store.claim_life_training(at(1), cutoff, at(1), 10).await.unwrap();
    assert_eq!(again[0].run_on_day, 2);
    store.note_life_reports(bo.id, 1, 50, at(1)).await.unwrap();
    let daily = store.claim_life_training(at(2), at(2) - Duration::minutes(1), at(2), 10).await.unwrap();
    assert_eq!(daily.iter().map(|c| c.user_id).collect::<Vec<_>>(), vec![bo.id], "Bo's first daily run");
    store.note_life_training(bo.id, Some("not enough data"), None).await.unwrap();
    // Reports among added events are counted in the same transaction; other events are not.
    let report = |minutes| NewLifeEvent {
        subject: Subject::Person(bo.id),
        household_id: HouseholdId(uuid::Uuid::nil()),
        content: event(EventType::Mood, "check-in", minutes)
            .with_data(EventData::new().with_number("energy_level", 6.0)),
        event_data_json: r#"{"energy_level": 6}"#.to_owned(),
        context_json: "{}".to_owned(),
        created_by: Some(bo.id),
    };
    let plain = NewLifeEvent { content: event(EventType::Meal, "lunch", 3), ..report(3) };
    let added = store.add_life_events(&[report(1), plain.clone()], at(3), 2).await.unwrap();
    assert_eq!((added.events.len(), added.training_due), (2, false));
    let added = store.add_life_events(&[report(2), plain], at(3), 2).await.unwrap();
    assert!(added.training_due, "the second report makes it due");
    assert_eq!(store.life_training_state(bo.id).await.unwrap().new_reports, 2);
    // A request already standing is not asked for again: a flood of reports does not wake the
    // job for every one of them (the job's next pass takes the standing request up).
    let added = store.add_life_events(&[report(4)], at(4), 2).await.unwrap();
    assert!(!added.training_due, "asked for once, not again by every later report");
    assert!(!store.note_life_reports(bo.id, 1, 2, at(5)).await.unwrap());
    assert_eq!(store.life_training_state(bo.id).await.unwrap().new_reports, 4);
    assert_eq!(store.life_training_state(bo.id).await.unwrap().energy_note.as_deref(), Some("not enough data"));

    // Insights: one per rule and UTC day, updated in place with its read state kept.
    let insight = |content: &'static str| NewInsight {
        insight_type: "sleep_short",
        category: "sleep",
        title: "Short sleep",
        content,
        priority: "high",
        confidence: 0.6,
        metadata_json: r#"{"avg_sleep_hours":5.5}"#,
    };
    let first = store.upsert_life_insight(ana.id, &insight("You slept 5.5 h."), T0).await.unwrap();
    store.mark_life_insight(ana.id, first.id, true, false).await.unwrap();
    let same = store.upsert_life_insight(ana.id, &insight("You slept 5.4 h."), at(1)).await.unwrap();
    assert_eq!((same.id, same.is_read, same.content.as_str()), (first.id, true, "You slept 5.4 h."));
    assert_eq!(same.updated_at, Some(at(1)));
    let next_day = store.upsert_life_insight(ana.id, &insight("You slept 6 h."), T0 + Duration::days(1)).await.unwrap();
    assert_ne!(next_day.id, first.id);
    let all = PageRequest { page: 1, page_size: 50 };
    let list = store.list_life_insights(ana.id, &InsightFilter::default(), all).await.unwrap();
    assert_eq!(list.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![next_day.id, first.id], "newest first");
    let unread = InsightFilter { unread_only: true, ..InsightFilter::default() };
    assert_eq!(store.list_life_insights(ana.id, &unread, all).await.unwrap().total, 1);
    store.mark_life_insight(ana.id, next_day.id, false, true).await.unwrap();
    assert_eq!(store.list_life_insights(ana.id, &InsightFilter::default(), all).await.unwrap().total, 1);
    let everything = InsightFilter { include_dismissed: true, ..InsightFilter::default() };
    assert_eq!(store.list_life_insights(ana.id, &everything, all).await.unwrap().total, 2);
    // Nobody else's.
    assert!(matches!(store.get_life_insight(bo.id, first.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.mark_life_insight(bo.id, first.id, true, true).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_life_insights(bo.id, &everything, all).await.unwrap().total, 0);
});
