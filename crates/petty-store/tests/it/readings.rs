//! Devices and readings: token lookup, rotation and revocation; ingest with duplicates, late
//! and out-of-order data; what "latest" means; range reads with cursor paging; tenancy; and
//! many concurrent callers sharing commits without losing a reading.

use std::collections::{BTreeMap, BTreeSet};

use petty_core::devices::{DeviceKind, DeviceProfile};
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::RetentionPolicy;
use petty_core::readings::{METRIC_COUNT, Metric, Reading};
use petty_store::{IngestOutcome, ReadingCursor, RetentionReport, Rollup, RollupQuery, Store, StoreError};
use time::{Duration, OffsetDateTime};

use crate::fixtures::{T0, at, owner, secret};
use crate::harness::store_test;

fn collar(name: &str) -> DeviceProfile {
    DeviceProfile {
        name: name.to_owned(),
        kind: DeviceKind::Collar,
        pet_id: None,
        model: Some("PettyTag 2".to_owned()),
        firmware: Some("1.4.2".to_owned()),
        expected_interval_secs: 60,
        calibration: BTreeMap::from([("r0".to_owned(), 10.5)]),
        serial: None,
    }
}

/// A reading at `T0 + minutes`, with a heart rate and optionally a battery level.
fn reading(minutes: i64, seq: Option<i64>, heart_rate: f64, battery: Option<f64>) -> Reading {
    let mut values = [None; METRIC_COUNT];
    values[Metric::HeartRate.index()] = Some(heart_rate);
    values[Metric::BatteryPct.index()] = battery;
    Reading { ts: at(minutes), seq, values, location: None, extra: BTreeMap::new() }
}

async fn device(store: &Store, household_id: HouseholdId, name: &str) -> (DeviceId, Vec<u8>) {
    let hash = secret();
    let device = store.create_device(household_id, &collar(name), &hash, T0).await.unwrap();
    (device.id, hash)
}

store_test!(a_device_is_created_found_by_its_token_rotated_and_revoked, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "bo@example.org").await;
    let (id, first) = device(&store, home.household_id, "Bella's collar").await;

    let found = store.get_device(home.household_id, id).await.unwrap();
    assert_eq!(found.profile, collar("Bella's collar"));
    assert!(found.has_token);
    assert_eq!(found.last_seen_at, None);
    let by_token = store.find_device_token(&first).await.unwrap().unwrap();
    assert_eq!((by_token.device_id, by_token.household_id), (id, home.household_id));
    assert!(matches!(store.get_device(other.household_id, id).await, Err(StoreError::NotFound)));
    assert!(store.list_devices(other.household_id).await.unwrap().is_empty());

    let second = secret();
    store.set_device_token(home.household_id, id, Some(&second), at(1)).await.unwrap();
    assert_eq!(store.find_device_token(&first).await.unwrap(), None, "the old token stops at once");
    assert_eq!(store.find_device_token(&second).await.unwrap().map(|c| c.device_id), Some(id));
    let revoked = store.set_device_token(home.household_id, id, None, at(2)).await.unwrap();
    assert!(!revoked.has_token);
    assert_eq!(store.find_device_token(&second).await.unwrap(), None);
    assert!(matches!(
        store.set_device_token(other.household_id, id, Some(&first), at(3)).await,
        Err(StoreError::NotFound)
    ));

    let mut renamed = collar("Miso's collar");
    renamed.expected_interval_secs = 300;
    let updated = store.update_device(home.household_id, id, &renamed, at(4)).await.unwrap();
    assert_eq!(updated.profile, renamed);
    assert_eq!(store.list_devices(home.household_id).await.unwrap().len(), 1);
    store.delete_device(home.household_id, id).await.unwrap();
    assert!(matches!(store.get_device(home.household_id, id).await, Err(StoreError::NotFound)));
});

/// Device tokens are cached on PostgreSQL too; a change on one node reaches the other's cache
/// through NOTIFY, so a revoked or rotated token stops working everywhere.
#[tokio::test]
async fn a_token_revoked_on_one_node_stops_working_on_the_other() {
    crate::harness::run_postgres_nodes(
        "readings::a_token_revoked_on_one_node_stops_working_on_the_other",
        |a, b| async move {
            let (_, home) = owner(&a, "ana@example.org").await;
            let hid = home.household_id;
            let (id, hash) = device(&a, hid, "collar").await;
            // Give node B's listener a moment to start, so that its lookups below are cached.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            for _ in 0..3 {
                assert_eq!(b.find_device_token(&hash).await.unwrap().map(|c| c.device_id), Some(id));
            }
            let fresh = secret();
            a.set_device_token(hid, id, Some(&fresh), at(1)).await.unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while b.find_device_token(&hash).await.unwrap().is_some() {
                assert!(std::time::Instant::now() < deadline, "node B still honours a token node A replaced");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert_eq!(b.find_device_token(&fresh).await.unwrap().map(|c| c.device_id), Some(id));
            a.set_device_token(hid, id, None, at(2)).await.unwrap();
            while b.find_device_token(&fresh).await.unwrap().is_some() {
                assert!(std::time::Instant::now() < deadline, "node B still honours a token node A revoked");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        },
    )
    .await;
}

store_test!(resent_readings_are_stored_once_and_late_ones_are_kept, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (id, _) = device(&store, home.household_id, "collar").await;
    let hid = home.household_id;
    let first = store
        .ingest(hid, id, vec![reading(10, Some(1), 80.0, Some(90.0)), reading(11, None, 82.0, None)], at(11))
        .await;
    assert_eq!(first.unwrap(), vec![IngestOutcome::Accepted, IngestOutcome::Accepted]);
    // The same (ts, seq) again, a new seq at the same time, a resent reading, and one key twice in one call.
    let again = store
        .ingest(
            hid,
            id,
            vec![
                reading(10, Some(1), 99.0, None),
                reading(10, Some(2), 81.0, None),
                reading(11, None, 82.0, None),
                reading(10, Some(2), 85.0, None),
            ],
            at(12),
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![IngestOutcome::Duplicate, IngestOutcome::Accepted, IngestOutcome::Duplicate, IngestOutcome::Duplicate],
        "within one call the first of two equal keys is stored"
    );
    // A late reading from before everything else, carrying an old battery level.
    let late = store.ingest(hid, id, vec![reading(1, None, 70.0, Some(40.0))], at(13)).await.unwrap();
    assert_eq!(late, vec![IngestOutcome::Accepted]);

    let latest = store.latest_reading(hid, id).await.unwrap().unwrap();
    assert_eq!(latest.reading.ts, at(11), "latest is the newest event time, not the last arrival");
    assert_eq!(latest.received_at, at(11));
    let device = store.get_device(hid, id).await.unwrap();
    assert_eq!(device.last_seen_at, Some(at(13)));
    assert_eq!(device.latest_ts, Some(at(11)));
    assert_eq!(device.battery_pct, Some(90.0), "a late reading does not overwrite a newer battery level");

    let (all, next) = store.readings(hid, id, at(0), at(60), None, 100).await.unwrap();
    assert_eq!(next, None);
    let seen: Vec<(OffsetDateTime, Option<i64>, Option<f64>)> =
        all.iter().map(|r| (r.reading.ts, r.reading.seq, r.reading.value(Metric::HeartRate))).collect();
    assert_eq!(
        seen,
        vec![
            (at(1), None, Some(70.0)),
            (at(10), Some(1), Some(80.0)),
            (at(10), Some(2), Some(81.0)),
            (at(11), None, Some(82.0))
        ],
        "the first copy is kept; ordered by event time"
    );
});

store_test!(readings_page_by_cursor_within_a_range_and_stay_in_their_household, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "bo@example.org").await;
    let (id, _) = device(&store, home.household_id, "collar").await;
    let mut batch: Vec<Reading> = (0..25).map(|m| reading(m, None, 60.0 + m as f64, None)).collect();
    batch[3].location = Some(petty_core::readings::Location { lat: 52.37, lon: 4.89, accuracy_m: Some(8.0) });
    batch[4].extra.insert("lick_seconds".to_owned(), 12.5);
    store.ingest(home.household_id, id, batch.clone(), at(30)).await.unwrap();

    let mut cursor: Option<ReadingCursor> = None;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let (items, next) = store.readings(home.household_id, id, at(5), at(20), cursor, 4).await.unwrap();
        pages += 1;
        got.extend(items.into_iter().map(|r| r.reading));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 4, "15 readings in pages of 4");
    assert_eq!(got, batch[5..20].to_vec(), "from is inclusive, to exclusive, nothing skipped or repeated");

    let (near, _) = store.readings(home.household_id, id, at(3), at(5), None, 10).await.unwrap();
    assert_eq!(
        near.iter().map(|r| r.reading.clone()).collect::<Vec<_>>(),
        batch[3..5].to_vec(),
        "location and extra round-trip"
    );

    let (theirs, _) = store.readings(other.household_id, id, at(0), at(60), None, 100).await.unwrap();
    assert!(theirs.is_empty());
    assert_eq!(store.latest_reading(other.household_id, id).await.unwrap(), None);

    store.delete_device(home.household_id, id).await.unwrap();
    let (gone, _) = store.readings(home.household_id, id, at(0), at(60), None, 100).await.unwrap();
    assert!(gone.is_empty(), "deleting a device deletes its readings");
});

store_test!(the_same_readings_resent_concurrently_are_stored_once_and_counted_once, |store| async move {
    // A device retrying while its first attempts are still in flight: 30 calls at once, each
    // carrying the same 40 readings in its own order, over two devices. Every call is answered
    // (no deadlock between concurrent transactions), each reading is accepted exactly once, and
    // the rollups count it once.
    let (_, home) = owner(&store, "ana@example.org").await;
    let hid = home.household_id;
    let devices = [device(&store, hid, "collar a").await.0, device(&store, hid, "collar b").await.0];
    let mut calls = tokio::task::JoinSet::new();
    for call in 0..30usize {
        let store = store.clone();
        calls.spawn(async move {
            let mut readings: Vec<Reading> = (0..40).map(|i| reading(0, Some(i), 60.0 + i as f64, None)).collect();
            readings.rotate_left(call % 40);
            if call % 2 == 1 {
                readings.reverse();
            }
            store.ingest(hid, devices[call % 2], readings, T0).await
        });
    }
    let mut accepted = 0;
    while let Some(answer) = calls.join_next().await {
        let outcomes = answer.unwrap().unwrap_or_else(|e| panic!("a concurrent resend failed: {e}"));
        accepted += outcomes.iter().filter(|o| **o == IngestOutcome::Accepted).count();
    }
    assert_eq!(accepted, 80, "40 readings per device, each accepted once");
    for device in devices {
        let (items, _) = store.readings(hid, device, at(-1), at(1), None, 1000).await.unwrap();
        assert_eq!(items.len(), 40);
        let query = RollupQuery { metric: Metric::HeartRate, resolution_secs: 60, from: T0, to: at(1), limit: 10 };
        let minutes = store.rollups(hid, device, &query).await.unwrap();
        assert_eq!(minutes.len(), 1);
        assert_eq!((minutes[0].count, minutes[0].min, minutes[0].max), (40, 60.0, 99.0));
        // The one-round-trip form the charts use reads the same summaries.
        assert_eq!(store.rollup_series(hid, device, &query).await.unwrap(), minutes);
        let none = RollupQuery { metric: Metric::CoPpm, ..query };
        assert!(store.rollup_series(hid, device, &none).await.unwrap().is_empty());
    }
});

store_test!(concurrent_callers_share_commits_and_every_acknowledged_reading_is_stored, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let mut devices = Vec::new();
    for n in 0..4 {
        devices.push(device(&store, home.household_id, &format!("collar {n}")).await.0);
    }
    let mut calls = tokio::task::JoinSet::new();
    for call in 0..60 {
        let store = store.clone();
        let device = devices[call % devices.len()];
        calls.spawn(async move {
            let readings = (0..20).map(|i| reading(0, Some((call * 100 + i) as i64), 70.0, None)).collect();
            store.ingest(home.household_id, device, readings, T0 + Duration::seconds(call as i64)).await
        });
    }
    let mut acknowledged = 0;
    while let Some(answer) = calls.join_next().await {
        let outcomes = answer.unwrap().unwrap();
        assert!(outcomes.iter().all(|o| *o == IngestOutcome::Accepted));
        acknowledged += outcomes.len();
    }
    assert_eq!(acknowledged, 1200);
    let mut stored = BTreeSet::new();
    for device in &devices {
        let (items, next) = store.readings(home.household_id, *device, at(-1), at(1), None, 5000).await.unwrap();
        assert_eq!(next, None);
        stored.extend(items.into_iter().map(|r| (*device, r.reading.seq)));
    }
    assert_eq!(stored.len(), 1200);
});

store_test!(rollups_summarise_accepted_readings_late_ones_included_duplicates_not, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "bo@example.org").await;
    let (id, _) = device(&store, home.household_id, "collar").await;
    let hid = home.household_id;
    // T0 is 09:00. Two readings in the 09:00 minute, one in 09:01, one in 10:30.
    let at_secs = |secs: i64| T0 + Duration::seconds(secs);
    let r = |secs: i64, hr: f64| Reading { ts: at_secs(secs), ..reading(0, None, hr, None) };
    store.ingest(hid, id, vec![r(5, 60.0), r(70, 90.0)], at(2)).await.unwrap();
    store.ingest(hid, id, vec![r(5, 60.0), r(5400, 100.0)], at(91)).await.unwrap(); // a duplicate and a new one
    store.ingest(hid, id, vec![r(30, 70.0)], at(92)).await.unwrap(); // late, into the first minute
    // A reading in the first minute with steps only, and one in 09:01 with both: each metric's
    // summary counts the readings that carried it, not every reading of the period.
    let steps_only = Reading {
        ts: at_secs(40),
        values: std::array::from_fn(|i| (i == Metric::Steps.index()).then_some(12.0)),
        ..reading(0, None, 0.0, None)
    };
    let mut both = r(80, 95.0);
    both.values[Metric::Steps.index()] = Some(30.0);
    store.ingest(hid, id, vec![steps_only, both], at(93)).await.unwrap();

    let summaries = |household_id, resolution_secs, from| {
        let query = RollupQuery { metric: Metric::HeartRate, resolution_secs, from, to: at(120), limit: 100 };
        let store = &store;
        async move { store.rollups(household_id, id, &query).await.unwrap() }
    };
    let minutes = summaries(hid, 60, T0).await;
    let expected = |bucket, count, min, max, avg| Rollup { bucket, count, min, max, avg };
    assert_eq!(
        minutes,
        vec![
            expected(T0, 2, 60.0, 70.0, 65.0),
            expected(at(1), 2, 90.0, 95.0, 92.5),
            expected(at(90), 1, 100.0, 100.0, 100.0)
        ]
    );
    let hours = summaries(hid, 3600, T0).await;
    assert_eq!(hours, vec![expected(T0, 4, 60.0, 95.0, 315.0 / 4.0), expected(at(60), 1, 100.0, 100.0, 100.0)]);
    let days = summaries(hid, 86_400, at(30)).await;
    assert_eq!(days.len(), 1, "the period holding `from` is included");
    assert_eq!((days[0].count, days[0].min, days[0].max), (5, 60.0, 100.0));
    let steps = store
        .rollups(
            hid,
            id,
            &RollupQuery { metric: Metric::Steps, resolution_secs: 60, from: T0, to: at(120), limit: 100 },
        )
        .await
        .unwrap();
    assert_eq!(steps, vec![expected(T0, 1, 12.0, 12.0, 12.0), expected(at(1), 1, 30.0, 30.0, 30.0)]);
    assert!(
        store
            .rollups(
                hid,
                id,
                &RollupQuery { metric: Metric::CoPpm, resolution_secs: 60, from: T0, to: at(120), limit: 100 }
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(summaries(other.household_id, 60, T0).await.is_empty());
});

store_test!(retention_removes_what_each_household_no_longer_keeps, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "bo@example.org").await;
    assert_eq!(store.retention_policy(home.household_id).await.unwrap(), RetentionPolicy::default());
    let policy = RetentionPolicy::parse(10, 30).unwrap();
    store.set_retention_policy(home.household_id, policy).await.unwrap();
    assert_eq!(store.retention_policy(home.household_id).await.unwrap(), policy);

    let (mine, _) = device(&store, home.household_id, "collar").await;
    let (theirs, _) = device(&store, other.household_id, "collar").await;
    let day = |d: i64| Reading { ts: T0 - Duration::days(d), ..reading(0, None, 70.0, None) };
    let old = vec![day(40), day(20), day(5), day(0)];
    store.ingest(home.household_id, mine, old.clone(), T0).await.unwrap();
    store.ingest(other.household_id, theirs, old, T0).await.unwrap();

    let report = store.enforce_retention(T0).await.unwrap();
    // Mine: readings older than 10 days (40 and 20) go; rollups of day 40 go (3 resolutions).
    // Theirs keep the defaults (90 days of readings, 5 years of rollups): nothing goes.
    assert_eq!(report, RetentionReport { readings_removed: 2, rollups_removed: 3 });
    let (left, _) = store.readings(home.household_id, mine, T0 - Duration::days(100), at(1), None, 100).await.unwrap();
    assert_eq!(left.iter().map(|r| r.reading.ts).collect::<Vec<_>>(), [T0 - Duration::days(5), T0]);
    let (kept, _) =
        store.readings(other.household_id, theirs, T0 - Duration::days(100), at(1), None, 100).await.unwrap();
    assert_eq!(kept.len(), 4);
    let days = RollupQuery {
        metric: Metric::HeartRate,
        resolution_secs: 86_400,
        from: T0 - Duration::days(100),
        to: at(1),
        limit: 100,
    };
    assert_eq!(
        store.rollups(home.household_id, mine, &days).await.unwrap().len(),
        3,
        "day 20's summary outlives its readings"
    );
    assert_eq!(store.enforce_retention(T0).await.unwrap(), RetentionReport::default(), "a second pass finds nothing");
});

store_test!(the_liveness_pass_records_each_change_once, |store| async move {
    use petty_core::devices::DeviceEventKind as E;
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "bo@example.org").await;
    let hid = home.household_id;
    let (id, _) = device(&store, hid, "collar").await; // reports every 60 s
    let kinds = |events: Vec<petty_store::DeviceEvent>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(kinds(store.liveness_pass(at(1)).await.unwrap()), [], "never seen: nothing to say");

    store.ingest(hid, id, vec![reading(0, None, 80.0, Some(15.0))], T0).await.unwrap();
    assert_eq!(kinds(store.liveness_pass(at(1)).await.unwrap()), [E::BatteryLow]);
    assert_eq!(kinds(store.liveness_pass(at(2)).await.unwrap()), [], "nothing new");
    assert_eq!(kinds(store.liveness_pass(at(4)).await.unwrap()), [E::Stale], "over 3 intervals quiet");
    assert_eq!(kinds(store.liveness_pass(at(11)).await.unwrap()), [E::Offline], "over 10");
    assert_eq!(kinds(store.liveness_pass(at(12)).await.unwrap()), []);
    store.ingest(hid, id, vec![reading(13, None, 80.0, Some(95.0))], at(13)).await.unwrap();
    assert_eq!(kinds(store.liveness_pass(at(13)).await.unwrap()), [E::BackOnline, E::BatteryOk]);

    let recorded = store.device_events(hid, id, 10).await.unwrap();
    // Newest first; the two events of one pass in reverse order of recording.
    assert_eq!(kinds(recorded.clone()), [E::BatteryOk, E::BackOnline, E::Offline, E::Stale, E::BatteryLow]);
    assert!(recorded.iter().any(|e| e.detail.contains("collar is offline")), "{recorded:?}");
    assert!(store.device_events(other.household_id, id, 10).await.unwrap().is_empty());
});

store_test!(readings_are_found_by_when_they_were_received, |store| async move {
    let (_, home) = owner(&store, "recv@example.org").await;
    let (_, other) = owner(&store, "recv-other@example.org").await;
    let (id, _) = device(&store, home.household_id, "Bella's collar").await;
    // Received in three batches: minute 5 at T0+10, minutes 1 and 7 (one late) at T0+20, minute
    // 8 at T0+30.
    let batches = [
        (10, vec![reading(5, Some(1), 80.0, None)]),
        (20, vec![reading(7, Some(1), 81.0, None), reading(1, Some(1), 82.0, None)]),
        (30, vec![reading(8, Some(1), 83.0, None)]),
    ];
    for (received, readings) in batches {
        store.ingest(home.household_id, id, readings, at(received)).await.unwrap();
    }
    let minutes = |rows: Vec<petty_store::StoredReading>| -> Vec<i64> {
        rows.iter().map(|r| (r.reading.ts - T0).whole_minutes()).collect()
    };
    let since = |received: i64, ts_from: i64, limit: u32| {
        let store = store.clone();
        async move { store.readings_received_since(home.household_id, id, at(received), at(ts_from), limit).await.unwrap() }
    };
    assert_eq!(minutes(since(20, 0, 100).await), [1, 7, 8], "by arrival, then event time");
    assert_eq!(minutes(since(0, 0, 100).await), [5, 1, 7, 8]);
    assert_eq!(minutes(since(20, 2, 100).await), [7, 8], "the event-time bound holds");
    assert_eq!(minutes(since(0, 0, 2).await), [5, 1], "at most the limit");
    assert_eq!(minutes(since(31, 0, 100).await), Vec::<i64>::new());
    let theirs = store.readings_received_since(other.household_id, id, at(0), at(0), 100).await.unwrap();
    assert!(theirs.is_empty(), "another household's device has no readings for them");
});

store_test!(rollups_read_again_and_again_follow_late_readings_new_periods_and_retention, |store| async move {
    // A chart read over and over while readings come: in order, late into closed periods (a
    // day, an hour, a minute back), and a backfill weeks old; with retention removing old
    // periods. Every read equals what the readings so far give, summed here afresh, whatever
    // the engine keeps between reads (on SQLite the closed periods stay in memory).
    let (_, home) = owner(&store, "ana@example.org").await;
    let hid = home.household_id;
    let (id, _) = device(&store, hid, "collar").await;
    store.set_retention_policy(hid, RetentionPolicy::parse(20, 30).unwrap()).await.unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    const MINUTE_MS: i64 = 60_000;
    let resolutions = [60_i64, 3600, 86_400];
    // (resolution, bucket start) -> (count, sum, min, max), from whole heart rates so sums are exact.
    let mut model: BTreeMap<(i64, i64), (u64, f64, f64, f64)> = BTreeMap::new();
    let mut used = BTreeSet::new();
    let t0 = petty_store::to_ms(T0);
    let mut newest = t0;
    let mut reads = 0;
    for step in 0..400 {
        if step % 50 == 49 {
            // Retention as of the newest reading: periods over 30 days old go.
            let now = newest;
            store.enforce_retention(petty_store::from_ms(now).unwrap()).await.unwrap();
            model.retain(|&(res, bucket), _| bucket + res * 1000 > now - 30 * 86_400_000);
            continue;
        }
        match next(10) {
            0..=3 => {
                // In order: up to an hour and a half after the newest, or (one time in five) up
                // to three days after it.
                let gap = if next(5) == 0 { next(60 * 24 * 3) } else { next(90) };
                newest += (1 + gap as i64) * MINUTE_MS;
                let ts = newest;
                let hr = 50.0 + next(100) as f64;
                store.ingest(hid, id, vec![reading_at(ts, hr)], T0).await.unwrap();
                add(&mut model, &resolutions, ts, hr);
                used.insert(ts);
            }
            4..=5 => {
                // Late: back by up to two days, or (one time in four) by up to six weeks.
                let back = if next(4) == 0 { next(60 * 24 * 42) } else { next(60 * 24 * 2) } as i64;
                let ts = newest - back * MINUTE_MS - 1 - next(50_000) as i64;
                if used.insert(ts) {
                    let hr = 50.0 + next(100) as f64;
                    store.ingest(hid, id, vec![reading_at(ts, hr)], T0).await.unwrap();
                    add(&mut model, &resolutions, ts, hr);
                }
            }
            _ => {
                let res = resolutions[next(3) as usize];
                let span = match res {
                    60 => (1 + next(400)) as i64 * MINUTE_MS,
                    3600 => (1 + next(24 * 20)) as i64 * 60 * MINUTE_MS,
                    _ => (1 + next(60)) as i64 * 86_400_000,
                };
                // Mostly ending at the newest reading (a chart up to now), sometimes earlier.
                let to = if next(3) == 0 { newest - next(86_400_000 * 5) as i64 } else { newest + 1 };
                let from = to - span;
                let limit = if next(5) == 0 { 1 + next(30) as u32 } else { 800 };
                let query = RollupQuery {
                    metric: Metric::HeartRate,
                    resolution_secs: res,
                    from: petty_store::from_ms(from).unwrap(),
                    to: petty_store::from_ms(to).unwrap(),
                    limit,
                };
                let got: Vec<(i64, u64, f64, f64, f64)> = store
                    .rollups(hid, id, &query)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| (petty_store::to_ms(r.bucket), r.count, r.avg, r.min, r.max))
                    .collect();
                let start = from - from.rem_euclid(res * 1000);
                let want: Vec<(i64, u64, f64, f64, f64)> = model
                    .range((res, start)..(res, to))
                    .take(limit as usize)
                    .map(|(&(_, bucket), &(n, sum, lo, hi))| (bucket, n, sum / n as f64, lo, hi))
                    .collect();
                assert_eq!(got, want, "step {step}: {res} s periods from {from} to {to}, at most {limit}");
                reads += 1;
            }
        }
    }
    assert!(reads > 100, "{reads} reads");
    // A chart of the last 90 days read (and kept), then retention ten days later with no reading
    // in between: the read after it no longer has the days that went.
    let days = RollupQuery {
        metric: Metric::HeartRate,
        resolution_secs: 86_400,
        from: petty_store::from_ms(newest - 90 * 86_400_000).unwrap(),
        to: petty_store::from_ms(newest + 1).unwrap(),
        limit: 800,
    };
    let before = store.rollups(hid, id, &days).await.unwrap();
    assert_eq!(before, store.rollups(hid, id, &days).await.unwrap());
    let now = newest + 10 * 86_400_000;
    let report = store.enforce_retention(petty_store::from_ms(now).unwrap()).await.unwrap();
    assert!(report.rollups_removed > 0, "retention removed nothing: the check below would prove nothing");
    let after = store.rollups(hid, id, &days).await.unwrap();
    let cut = now - 30 * 86_400_000;
    let kept: Vec<Rollup> = before.into_iter().filter(|r| petty_store::to_ms(r.bucket) + 86_400_000 > cut).collect();
    assert_eq!(after, kept, "the days retention removed are gone from the next read");

    fn reading_at(ts: i64, hr: f64) -> Reading {
        Reading { ts: petty_store::from_ms(ts).unwrap(), ..reading(0, None, hr, None) }
    }
    fn add(model: &mut BTreeMap<(i64, i64), (u64, f64, f64, f64)>, resolutions: &[i64], ts: i64, hr: f64) {
        for &res in resolutions {
            let bucket = ts - ts.rem_euclid(res * 1000);
            let e = model.entry((res, bucket)).or_insert((0, 0.0, f64::INFINITY, f64::NEG_INFINITY));
            *e = (e.0 + 1, e.1 + hr, e.2.min(hr), e.3.max(hr));
        }
    }
});

/// Readings of today, `ms` milliseconds after `now`, with a heart rate each.
fn readings_now(now: OffsetDateTime, from: i64, count: i64) -> Vec<Reading> {
    (from..from + count)
        .map(|i| {
            let mut values = [None; METRIC_COUNT];
            values[Metric::HeartRate.index()] = Some(60.0 + i as f64);
            Reading {
                ts: now + Duration::milliseconds(i),
                seq: Some(i),
                values,
                location: None,
                extra: BTreeMap::new(),
            }
        })
        .collect()
}

/// What the charts of `now`'s minutes and day count, with the lowest and highest heart rate.
async fn counted(store: &Store, hid: HouseholdId, device: DeviceId, now: OffsetDateTime) -> (u64, u64, f64, f64) {
    let around = |resolution_secs: i64, span: Duration| RollupQuery {
        metric: Metric::HeartRate,
        resolution_secs,
        from: now - span,
        to: now + span * 2,
        limit: 100,
    };
    let minutes = store.rollups(hid, device, &around(60, Duration::minutes(1))).await.unwrap();
    let days = store.rollups(hid, device, &around(86_400, Duration::days(1))).await.unwrap();
    let low = minutes.iter().map(|m| m.min).fold(f64::INFINITY, f64::min);
    let high = minutes.iter().map(|m| m.max).fold(f64::NEG_INFINITY, f64::max);
    (minutes.iter().map(|m| m.count).sum(), days.iter().map(|d| d.count).sum(), low, high)
}

/// On SQLite the summaries of today's readings wait in memory for about a second before the
/// writer folds them into the rollups table. A chart counts every acknowledged reading at once;
/// a clean stop folds what waits; a stop that never folded (a crash, `kill -9`) loses nothing,
/// because the next start recomputes the periods it left pending from the stored readings, and
/// counts nothing twice.
#[tokio::test]
async fn todays_rollups_count_every_reading_at_once_and_after_a_crash_before_the_fold() {
    let dir = crate::harness::TempDir::new();
    let url = format!("sqlite://{}", dir.path().join("petty.db").display());
    let open = |migrate: bool| {
        let url = url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            if migrate {
                store.migrate().await.unwrap();
            }
            store
        }
    };
    let now = OffsetDateTime::now_utc();
    let store = open(true).await;
    let (_, home) = owner(&store, "ana@example.org").await;
    let hid = home.household_id;
    let (id, _) = device(&store, hid, "collar").await;

    store.pause_rollup_folds(true);
    for call in 0..3 {
        store.ingest(hid, id, readings_now(now, call * 10, 10), now).await.unwrap();
    }
    assert_eq!(counted(&store, hid, id, now).await, (30, 30, 60.0, 89.0), "acknowledged readings are charted at once");

    // A crash: the store goes without being closed, so nothing folds what waits in memory.
    drop(store);
    let unrecovered = open(false).await;
    assert_eq!(
        counted(&unrecovered, hid, id, now).await.0,
        0,
        "the summaries were never folded (so what follows tests the recovery)"
    );
    unrecovered.close().await;

    let store = open(true).await;
    assert_eq!(
        counted(&store, hid, id, now).await,
        (30, 30, 60.0, 89.0),
        "the start recomputed the pending periods from the readings"
    );
    store.ingest(hid, id, readings_now(now, 30, 10), now).await.unwrap();
    assert_eq!(counted(&store, hid, id, now).await, (40, 40, 60.0, 99.0));
    store.close().await;
    let unrecovered = open(false).await;
    assert_eq!(counted(&unrecovered, hid, id, now).await.0, 40, "a clean stop folded what waited");
    unrecovered.close().await;

    // A clean stop folded the last ten; folded and pending summaries together, then a crash.
    let store = open(true).await;
    assert_eq!(counted(&store, hid, id, now).await, (40, 40, 60.0, 99.0), "a clean stop loses and doubles nothing");
    store.pause_rollup_folds(true);
    store.ingest(hid, id, readings_now(now, 40, 5), now).await.unwrap();
    assert_eq!(counted(&store, hid, id, now).await.0, 45);
    drop(store);
    let store = open(true).await;
    assert_eq!(counted(&store, hid, id, now).await, (45, 45, 60.0, 104.0));
    store.close().await;
}

store_test!(charts_of_live_readings_never_lose_or_double_count_one_while_folds_happen, |store| async move {
    // Four devices send today's readings for two seconds while a reader charts them; the
    // summaries move from memory into the table meanwhile (on SQLite). Each chart counts
    // what was acknowledged before it started, never more than was sent, and never fewer than
    // the chart before it; at the end, exactly what was sent.
    let (_, home) = owner(&store, "ana@example.org").await;
    let hid = home.household_id;
    let now = OffsetDateTime::now_utc();
    let mut devices = Vec::new();
    for n in 0..4 {
        devices.push(device(&store, hid, &format!("collar {n}")).await.0);
    }
    let acknowledged: std::sync::Arc<Vec<std::sync::atomic::AtomicU64>> =
        std::sync::Arc::new(devices.iter().map(|_| Default::default()).collect());
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut senders = tokio::task::JoinSet::new();
    for (d, &device) in devices.iter().enumerate() {
        let (store, acknowledged) = (store.clone(), acknowledged.clone());
        senders.spawn(async move {
            let mut sent = 0;
            while std::time::Instant::now() < until {
                store.ingest(hid, device, readings_now(now, sent, 5), now).await.unwrap();
                sent += 5;
                acknowledged[d].store(sent as u64, std::sync::atomic::Ordering::SeqCst);
            }
            sent as u64
        });
    }
    let mut last = vec![0; devices.len()];
    while std::time::Instant::now() < until {
        for (d, &device) in devices.iter().enumerate() {
            let before = acknowledged[d].load(std::sync::atomic::Ordering::SeqCst);
            let (minutes, days, _, _) = counted(&store, hid, device, now).await;
            // One call of five may be committed and not yet acknowledged.
            let after = acknowledged[d].load(std::sync::atomic::Ordering::SeqCst) + 5;
            assert!(minutes >= before && minutes >= last[d], "device {d}: {minutes} counted, {before} acknowledged");
            assert!(minutes <= after, "device {d}: {minutes} counted, at most {after} sent");
            assert!(days >= minutes && days <= after, "device {d}: the day counts {days} after the minutes {minutes}");
            last[d] = minutes;
        }
        tokio::task::yield_now().await;
    }
    let mut sent = Vec::new();
    while let Some(total) = senders.join_next().await {
        sent.push(total.unwrap());
    }
    for (d, &device) in devices.iter().enumerate() {
        let total = acknowledged[d].load(std::sync::atomic::Ordering::SeqCst);
        assert!(sent.contains(&total));
        let (minutes, days, _, _) = counted(&store, hid, device, now).await;
        assert_eq!((minutes, days), (total, total), "device {d}");
    }
});
