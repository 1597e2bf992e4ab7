//! What the Pet Management profile asks of the store, on both engines: pets found by name,
//! breed or microchip; pets holding a microchip; records of several kinds at once; a person's
//! profile fields beside their account; webhooks told of named events, apart from alarm webhooks.

use petty_core::care::{RawRecord, RecordContent, RecordKind};
use petty_core::ids::WebhookId;
use petty_core::paging::PageRequest;
use petty_core::pets::Species;
use petty_store::{PetFilter, PetmgmtProfile, RecordFilter, StoreError};
use time::macros::date;

use crate::fixtures::{T0, at, owner, pet};
use crate::harness::store_test;

store_test!(pets_are_found_by_name_breed_or_microchip, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "eve@example.org").await;
    let rex = petty_core::pets::PetProfile {
        breed: Some("Border Collie".into()),
        microchip_id: Some("985112003456789".into()),
        ..pet("Rex", Species::Dog)
    };
    let rex = store.create_pet(home.household_id, &rex, T0).await.unwrap();
    let miso = petty_core::pets::PetProfile { breed: Some("Siamese".into()), ..pet("Miso", Species::Cat) };
    store.create_pet(home.household_id, &miso, T0).await.unwrap();
    store.create_pet(other.household_id, &pet("Collie of Eve", Species::Dog), T0).await.unwrap();
    let found = |text: &str, species: Option<Species>| {
        let store = store.clone();
        let filter = PetFilter { text_contains: Some(text.to_owned()), species, ..PetFilter::default() };
        async move {
            let page = store.list_pets(home.household_id, &filter, PageRequest::default()).await.unwrap();
            assert_eq!(page.total, page.items.len() as u64);
            page.items.into_iter().map(|p| p.profile.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("COLLIE", None).await, ["Rex"], "breed, any case, this household only");
    assert_eq!(found("3456", None).await, ["Rex"], "microchip");
    assert_eq!(found("amese", None).await, ["Miso"], "breed");
    assert_eq!(found("mis", None).await, ["Miso"], "name");
    assert_eq!(found("s", Some(Species::Dog)).await, Vec::<String>::new());
    assert_eq!(found("%", None).await, Vec::<String>::new(), "wildcards are text");

    assert_eq!(store.pets_with_microchip(home.household_id, "985112003456789").await.unwrap(), [rex.id]);
    assert!(store.pets_with_microchip(other.household_id, "985112003456789").await.unwrap().is_empty());
});

store_test!(records_are_filtered_by_several_kinds, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let bella = store.create_pet(home.household_id, &pet("Bella", Species::Dog), T0).await.unwrap();
    for (i, (kind, title)) in [("other", "Misc"), ("procedure", "Stitches"), ("weight", "Weight"), ("visit", "Checkup")]
        .into_iter()
        .enumerate()
    {
        let raw = RawRecord {
            kind: kind.into(),
            title: Some(title.into()),
            date: "2025-01-01".into(),
            weight_kg: (kind == "weight").then_some(20.0),
            ..Default::default()
        };
        let content = RecordContent::parse(&raw, Species::Dog, date!(2030 - 01 - 01)).unwrap();
        store.create_record(home.household_id, bella.id, &content, None, at(i as i64)).await.unwrap();
    }
    let filter = RecordFilter {
        kind: Some(RecordKind::Other),
        also_kinds: vec![RecordKind::Procedure, RecordKind::Weight],
        ..RecordFilter::default()
    };
    let page = store.list_records(home.household_id, bella.id, &filter, PageRequest::default()).await.unwrap();
    let mut titles: Vec<&str> = page.items.iter().map(|r| r.content.title.as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["Misc", "Stitches", "Weight"]);
    let summary = store.record_summary(home.household_id, bella.id, &filter).await.unwrap();
    assert_eq!(summary.total, 3);
    let one = RecordFilter { kind: Some(RecordKind::Visit), ..RecordFilter::default() };
    assert_eq!(store.record_summary(home.household_id, bella.id, &one).await.unwrap().total, 1);
    assert_eq!(store.record_summary(home.household_id, bella.id, &RecordFilter::default()).await.unwrap().total, 4);
});

store_test!(a_persons_profile_fields_and_display_name, |store| async move {
    let (user, _) = owner(&store, "ana@example.org").await;
    assert_eq!(store.petmgmt_profile(user.id).await.unwrap(), None);
    let mut profile = PetmgmtProfile {
        user_id: user.id,
        first_name: "Ana".into(),
        last_name: "Lima".into(),
        phone: Some("+14155550123".into()),
        photo_url: None,
        updated_at: at(1),
    };
    store.put_petmgmt_profile(&profile, "Ana Lima").await.unwrap();
    assert_eq!(store.petmgmt_profile(user.id).await.unwrap().as_ref(), Some(&profile));
    assert_eq!(store.get_user(user.id).await.unwrap().display_name, "Ana Lima");
    profile.last_name = "Souza".into();
    profile.phone = None;
    profile.updated_at = at(2);
    store.put_petmgmt_profile(&profile, "Ana Souza").await.unwrap();
    assert_eq!(store.petmgmt_profile(user.id).await.unwrap(), Some(profile.clone()));
    let stranger = PetmgmtProfile { user_id: petty_core::ids::UserId::new(), ..profile };
    assert!(store.put_petmgmt_profile(&stranger, "x").await.is_err());
});

store_test!(event_webhooks_are_apart_from_alarm_webhooks, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "eve@example.org").await;
    let alarm = store
        .create_webhook(home.household_id, "https://a.example/hook", "s1", petty_core::alarm::Severity::Info, 0)
        .await
        .unwrap();
    assert_eq!(alarm.events, None);
    let hook = store
        .create_event_webhook(home.household_id, "https://b.example/hook", "s2", &["pet.created", "reminder.due"], T0)
        .await
        .unwrap();
    assert_eq!(hook.events.as_deref(), Some("pet.created,reminder.due"));
    let told = |event: &'static str| {
        let store = store.clone();
        async move {
            store.event_webhooks(home.household_id, event).await.unwrap().into_iter().map(|h| h.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(told("pet.created").await, [hook.id]);
    assert_eq!(told("reminder.due").await, [hook.id]);
    assert!(told("pet.deleted").await.is_empty());
    assert!(store.event_webhooks(other.household_id, "pet.created").await.unwrap().is_empty());
    // Deleting through the profile touches only its own webhooks, and only in the household.
    assert!(matches!(store.delete_event_webhook(home.household_id, alarm.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_event_webhook(other.household_id, hook.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_event_webhook(home.household_id, WebhookId::new()).await, Err(StoreError::NotFound)));
    store.delete_event_webhook(home.household_id, hook.id).await.unwrap();
    assert_eq!(store.webhooks(home.household_id).await.unwrap().len(), 1);
});
