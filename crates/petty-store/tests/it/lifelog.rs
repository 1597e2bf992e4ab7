//! The life log on both engines: a person's events are theirs in every household, a pet's its
//! household's; all of a batch or none; JSON kept as sent; newest first with filters.

use petty_core::ids::LifeEventId;
use petty_core::lifelog::{EventContent, EventType, Subject};
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
        )
        .await
        .unwrap();
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
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.list_life_events(me, h, &LifeEventFilter::default(), all).await.unwrap().total, 1);
});
