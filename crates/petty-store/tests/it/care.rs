//! Care on both engines: records (newest first, filters, the summary over every page, tenancy),
//! reminders (their list filters and the reminder job's claims, once across callers), the
//! calendar feed token and time zones.

use petty_core::care::{RawRecord, RecordContent, RecordKind};
use petty_core::paging::PageRequest;
use petty_core::pets::Species;
use petty_core::recurrence::Zone;
use petty_core::reminders::{RawReminder, ReminderContent, Source, StatusFilter};
use petty_store::{NewReminder, RecordFilter, ReminderFilter, StoreError};
use time::macros::date;

use crate::fixtures::{T0, at, owner, pet};
use crate::harness::store_test;

fn record(kind: &str, title: &str, date: &str, cost: Option<f64>) -> RecordContent {
    let raw = RawRecord { kind: kind.into(), title: Some(title.into()), date: date.into(), cost, ..Default::default() };
    RecordContent::parse(&raw, Species::Dog, date!(2030 - 01 - 01)).unwrap()
}

fn reminder(title: &str, at_local: &str, repeat: Option<&str>) -> ReminderContent {
    let raw =
        RawReminder { title: title.into(), at: at_local.into(), repeat: repeat.map(Into::into), ..Default::default() };
    ReminderContent::parse(&raw, &Zone::utc()).unwrap()
}

store_test!(records_list_newest_first_summarise_every_page_and_stay_in_their_household, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "eve@example.org").await;
    let bella = store.create_pet(home.household_id, &pet("Bella", Species::Dog), T0).await.unwrap();
    for (i, (kind, title, date, cost)) in [
        ("visit", "Checkup", "2025-01-10", Some(60.0)),
        ("medication", "Pill", "2025-02-01", Some(12.25)),
        ("vaccination", "Rabies", "2025-02-01", None),
        ("visit", "Dental", "2025-03-05", Some(40.0)),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .create_record(home.household_id, bella.id, &record(kind, title, date, cost), None, at(i as i64))
            .await
            .unwrap();
    }
    let page = store
        .list_records(
            home.household_id,
            bella.id,
            &RecordFilter::default(),
            PageRequest::parse(Some(1), Some(2)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    let titles: Vec<&str> = page.items.iter().map(|r| r.content.title.as_str()).collect();
    assert_eq!(titles, ["Dental", "Rabies"], "newest date first, then the latest written");
    let filter = RecordFilter { from: Some(date!(2025 - 02 - 01)), ..Default::default() };
    let summary = store.record_summary(home.household_id, bella.id, &filter).await.unwrap();
    assert_eq!((summary.total, summary.total_cost_cents), (3, 5225));
    assert_eq!(summary.by_kind, [(RecordKind::Vaccination, 1), (RecordKind::Medication, 1), (RecordKind::Visit, 1)]);
    let vaccinations = store.records_of_kind(home.household_id, None, RecordKind::Vaccination).await.unwrap();
    assert_eq!(vaccinations.len(), 1);
    let id = vaccinations[0].id;
    // Another household can neither add to this pet nor read, change or delete its records.
    assert!(matches!(
        store.create_record(other.household_id, bella.id, &record("visit", "x", "2025-01-01", None), None, T0).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.get_record(other.household_id, id).await, Err(StoreError::NotFound)));
    assert!(store.update_record(other.household_id, id, &record("visit", "x", "2025-01-01", None), T0).await.is_err());
    assert!(matches!(store.delete_record(other.household_id, id).await, Err(StoreError::NotFound)));
    store.delete_record(home.household_id, id).await.unwrap();
    assert_eq!(store.count_records(home.household_id).await.unwrap(), 3);
});

store_test!(reminders_filter_and_each_due_one_is_claimed_once, |store| async move {
    let (user, home) = owner(&store, "bo@example.org").await;
    let new = |content: ReminderContent| NewReminder {
        household_id: home.household_id,
        content,
        source: Source::User,
        series: None,
        external_uid: None,
        created_by: Some(user.id),
    };
    // Written the evening before: one reminder due at midnight, one years later.
    let written = time::macros::datetime!(2025-12-31 20:00 UTC);
    let due = store.create_reminder(&new(reminder("Due", "2026-01-01T00:00", Some("daily"))), written).await.unwrap();
    let later = store.create_reminder(&new(reminder("Later", "2030-01-01T00:00", None)), written).await.unwrap();
    let now =
        time::OffsetDateTime::parse("2026-01-01T00:00:30Z", &time::format_description::well_known::Rfc3339).unwrap();
    let overdue = ReminderFilter { status: StatusFilter::Overdue, ..Default::default() };
    let found = store.list_reminders(home.household_id, &overdue, now, PageRequest::default()).await.unwrap();
    assert_eq!(found.items.iter().map(|r| r.id).collect::<Vec<_>>(), [due.id]);
    let now_ms = petty_store::to_ms(now);
    let (a, b) = tokio::join!(
        store.claim_due_reminders(now_ms, now_ms + 60_000, 10),
        store.claim_due_reminders(now_ms, now_ms + 60_000, 10)
    );
    let claimed: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).map(|r| r.id).collect();
    assert_eq!(claimed, [due.id], "claimed once, and only what is due");
    // Released after telling: the next look is at the next occurrence.
    let mut told = store.get_reminder(home.household_id, due.id).await.unwrap();
    told.notified_upto = told.due_at;
    store.release_reminder(&told).await.unwrap();
    assert!(store.claim_due_reminders(now_ms, now_ms + 60_000, 10).await.unwrap().is_empty());
    let tomorrow = now_ms + 86_400_000;
    assert_eq!(store.claim_due_reminders(tomorrow, tomorrow + 60_000, 10).await.unwrap().len(), 1);
    // Completing a one-off takes it out of the job's sight for good.
    let mut done = later.clone();
    done.complete(now);
    store.save_reminder(&done, now).await.unwrap();
    let completed = ReminderFilter { status: StatusFilter::Completed, ..Default::default() };
    assert_eq!(
        store.list_reminders(home.household_id, &completed, now, PageRequest::default()).await.unwrap().total,
        1
    );
    let far = now_ms + 10 * 365 * 86_400_000;
    let claimed = store.claim_due_reminders(far, far + 1, 10).await.unwrap();
    assert!(claimed.iter().all(|r| r.id != later.id));
    // Another household's reminder is not found.
    let (_, other) = owner(&store, "eve2@example.org").await;
    assert!(matches!(store.get_reminder(other.household_id, due.id).await, Err(StoreError::NotFound)));
});

store_test!(a_calendar_feed_token_opens_one_household_until_replaced_and_zones_are_kept, |store| async move {
    let (user, home) = owner(&store, "cy@example.org").await;
    store.set_calendar_feed(home.household_id, b"hash-one", Some(user.id), T0).await.unwrap();
    assert_eq!(store.calendar_feed_household(b"hash-one").await.unwrap().map(|h| h.0), Some(home.household_id));
    store.set_calendar_feed(home.household_id, b"hash-two", Some(user.id), at(1)).await.unwrap();
    assert_eq!(store.calendar_feed_household(b"hash-one").await.unwrap(), None);
    assert!(store.revoke_calendar_feed(home.household_id).await.unwrap());
    assert_eq!(store.calendar_feed_household(b"hash-two").await.unwrap(), None);
    assert_eq!(store.household_zone(home.household_id).await.unwrap().name(), "UTC");
    store.set_household_zone(home.household_id, &Zone::parse("tz", "Asia/Tokyo").unwrap()).await.unwrap();
    store.set_user_zone(user.id, &Zone::parse("tz", "America/New_York").unwrap()).await.unwrap();
    assert_eq!(store.household_zone(home.household_id).await.unwrap().name(), "Asia/Tokyo");
    assert_eq!(store.user_zone(user.id).await.unwrap().name(), "America/New_York");
});

store_test!(a_vet_is_shared_exactly_the_pets_named_and_loses_them_with_the_membership, |store| async move {
    use petty_core::accounts::Role;
    use petty_store::PetFilter;
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (vera, _) = owner(&store, "vera@example.org").await;
    let (_, other) = owner(&store, "eve@example.org").await;
    let h = home.household_id;
    let hash = crate::fixtures::secret();
    store.create_invitation(&crate::fixtures::invitation(h, ana.id, Role::Vet, &hash), at(1)).await.unwrap();
    store.accept_invitation(vera.id, &hash, at(2)).await.unwrap();
    let bella = store.create_pet(h, &pet("Bella", Species::Dog), T0).await.unwrap();
    let max = store.create_pet(h, &pet("Max", Species::Cat), T0).await.unwrap();
    let stray = store.create_pet(other.household_id, &pet("Stray", Species::Dog), T0).await.unwrap();
    let all = PageRequest { page: 1, page_size: 50 };
    let seen = |store: petty_store::Store| async move {
        let filter = PetFilter { shared_with: Some(vera.id), ..PetFilter::default() };
        let page = store.list_pets(h, &filter, all).await.unwrap();
        (page.total, page.items.into_iter().map(|p| p.profile.name).collect::<Vec<_>>())
    };
    assert_eq!(seen(store.clone()).await, (0, vec![]));

    store.set_vet_shared_pets(h, vera.id, &[max.id, bella.id, max.id], at(3)).await.unwrap();
    assert_eq!(seen(store.clone()).await, (2, vec!["Bella".to_owned(), "Max".to_owned()]));
    assert!(store.is_shared_with_vet(h, vera.id, bella.id).await.unwrap());
    // Another household's pet: refused, and nothing changes.
    let err = store.set_vet_shared_pets(h, vera.id, &[stray.id], at(4)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("pet")), "{err:?}");
    assert_eq!(store.vet_shared_pets(h, vera.id).await.unwrap().len(), 2);
    // Not a member: not found.
    let err = store.set_vet_shared_pets(other.household_id, vera.id, &[], at(4)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    store.set_vet_shared_pets(h, vera.id, &[bella.id], at(5)).await.unwrap();
    assert_eq!(seen(store.clone()).await, (1, vec!["Bella".to_owned()]));
    assert!(!store.is_shared_with_vet(h, vera.id, max.id).await.unwrap());
    store.remove_member(h, vera.id, at(6)).await.unwrap();
    assert!(store.vet_shared_pets(h, vera.id).await.unwrap().is_empty(), "gone with the membership");
});
