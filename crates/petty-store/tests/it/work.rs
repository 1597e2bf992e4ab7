//! Readings that share a second, and the work ingest leaves for the jobs: noted in the same
//! transaction, claimed by one node at a time, and cleared only once done.

use std::collections::BTreeMap;

use petty_core::devices::{DeviceKind, DeviceProfile};
use petty_core::readings::{METRIC_COUNT, Metric, Reading};
use petty_store::{IngestOutcome, Store, WorkKind};
use time::Duration;

use crate::fixtures::{T0, at, owner, secret};
use crate::harness::store_test;

fn monitor() -> DeviceProfile {
    DeviceProfile {
        name: "Hall".to_owned(),
        kind: DeviceKind::AirMonitor,
        pet_id: None,
        model: None,
        firmware: None,
        expected_interval_secs: 60,
        calibration: BTreeMap::new(),
        serial: None,
    }
}

fn co(minutes: i64, ppm: f64) -> Reading {
    let mut values = [None; METRIC_COUNT];
    values[Metric::CoPpm.index()] = Some(ppm);
    Reading { ts: at(minutes), seq: None, values, location: None, extra: BTreeMap::new() }
}

async fn stored_values(
    store: &Store,
    household: petty_core::ids::HouseholdId,
    device: petty_core::ids::DeviceId,
) -> Vec<f64> {
    let (rows, _) = store.readings(household, device, at(-10), at(100), None, 100).await.unwrap();
    rows.iter().filter_map(|r| r.reading.value(Metric::CoPpm)).collect()
}

store_test!(different_readings_in_the_same_second_are_all_kept_and_a_resend_is_one, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let device = store.create_device(home.household_id, &monitor(), &secret(), T0).await.unwrap().id;
    let h = home.household_id;
    // Two different readings at the same time without a sequence number, in separate calls.
    assert_eq!(store.ingest(h, device, vec![co(1, 60.0)], T0).await.unwrap(), vec![IngestOutcome::Accepted]);
    assert_eq!(store.ingest(h, device, vec![co(1, 140.0)], T0).await.unwrap(), vec![IngestOutcome::Accepted]);
    // ...and in one call, with a resend of the first among them.
    let outcomes = store.ingest(h, device, vec![co(2, 1.0), co(2, 2.0), co(2, 1.0), co(1, 60.0)], T0).await.unwrap();
    assert_eq!(
        outcomes,
        vec![IngestOutcome::Accepted, IngestOutcome::Accepted, IngestOutcome::Duplicate, IngestOutcome::Duplicate]
    );
    assert_eq!(stored_values(&store, h, device).await, vec![60.0, 140.0, 1.0, 2.0]);
    // A byte-identical resend of the second one is a duplicate too.
    assert_eq!(store.ingest(h, device, vec![co(1, 140.0)], T0).await.unwrap(), vec![IngestOutcome::Duplicate]);
    // A reading with a sequence number is still known by it alone.
    let mut numbered = co(3, 5.0);
    numbered.seq = Some(7);
    let mut same_number = co(3, 6.0);
    same_number.seq = Some(7);
    assert_eq!(
        store.ingest(h, device, vec![numbered, same_number], T0).await.unwrap(),
        vec![IngestOutcome::Accepted, IngestOutcome::Duplicate]
    );
});

store_test!(ingest_notes_work_for_the_jobs_and_a_claim_clears_only_what_it_saw, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let h = home.household_id;
    let device = store.create_device(h, &monitor(), &secret(), T0).await.unwrap().id;
    let now = |minutes: i64| petty_store::to_ms(T0 + Duration::minutes(minutes));
    assert_eq!(store.pending_work(WorkKind::Alarms).await.unwrap(), 0);
    store.ingest(h, device, vec![co(5, 10.0), co(3, 10.0)], T0).await.unwrap();
    assert_eq!(store.pending_work(WorkKind::Alarms).await.unwrap(), 1);

    let claims = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!((claims[0].device_id, claims[0].from_ms, claims[0].to_ms), (device, now(3), now(5)));
    // Held: nobody else gets it while the lease runs; the analysis' work is separate.
    assert!(store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap().is_empty());
    assert_eq!(store.claim_work(WorkKind::Analysis, now(10), 30_000, 10).await.unwrap().len(), 1);

    // A late reading arrives while the claim is being worked on: finishing keeps it noted,
    // from the older time.
    store.ingest(h, device, vec![co(1, 10.0)], T0).await.unwrap();
    store.finish_work(WorkKind::Alarms, &claims[..1]).await.unwrap();
    let again = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap();
    assert_eq!(again.iter().map(|c| c.from_ms).collect::<Vec<_>>(), vec![now(1)]);
    store.finish_work(WorkKind::Alarms, &again[..1]).await.unwrap();
    assert_eq!(store.pending_work(WorkKind::Alarms).await.unwrap(), 0);

    // A duplicate leaves no work.
    store.ingest(h, device, vec![co(1, 10.0)], T0).await.unwrap();
    assert_eq!(store.pending_work(WorkKind::Alarms).await.unwrap(), 0);

    // A claim whose holder died is taken again once its lease has run out.
    store.ingest(h, device, vec![co(6, 10.0)], T0).await.unwrap();
    let dead = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(store.claim_work(WorkKind::Alarms, now(10) + 29_000, 30_000, 10).await.unwrap().is_empty());
    let taken = store.claim_work(WorkKind::Alarms, now(10) + 31_000, 30_000, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    // The dead holder's late finish changes nothing: its lease is gone.
    store.finish_work(WorkKind::Alarms, &dead[..1]).await.unwrap();
    assert_eq!(store.pending_work(WorkKind::Alarms).await.unwrap(), 1);
    store.finish_work(WorkKind::Alarms, &taken[..1]).await.unwrap();
    assert_eq!(store.pending_work(WorkKind::Alarms).await.unwrap(), 0);
});

store_test!(a_late_reading_stays_noted_only_until_a_pass_has_seen_it, |store| async move {
    // Under steady ingest readings arrive during every pass. A late reading the pass saw must
    // still be cleared, or every later pass rebuilds its rules' runs from their windows.
    let (_, home) = owner(&store, "ana@example.org").await;
    let h = home.household_id;
    let device = store.create_device(h, &monitor(), &secret(), T0).await.unwrap().id;
    let now = |minutes: i64| petty_store::to_ms(T0 + Duration::minutes(minutes));
    store.ingest(h, device, vec![co(5, 10.0)], T0).await.unwrap();
    store.ingest(h, device, vec![co(4, 10.0)], T0).await.unwrap(); // late: older than the newest
    for (finish_many, late_minute, next_late) in [(false, 4, 2), (true, 2, 3)] {
        let claim = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap().remove(0);
        assert!(claim.late_from.is_some(), "the late reading is noted for the pass");
        // An in-order reading arrives during the pass.
        let minute = if finish_many { 7 } else { 6 };
        store.ingest(h, device, vec![co(minute, 10.0)], T0).await.unwrap();
        if finish_many {
            store.finish_alarm_work(&[(&claim, None)]).await.unwrap();
        } else {
            store.finish_work(WorkKind::Alarms, std::slice::from_ref(&claim)).await.unwrap();
        }
        let next = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap().remove(0);
        assert_eq!(
            (next.from_ms, next.late_from),
            (now(late_minute), None),
            "the new reading is noted, the late one is done"
        );
        store.finish_work(WorkKind::Alarms, std::slice::from_ref(&next)).await.unwrap();
        assert_eq!(store.pending_work(WorkKind::Alarms).await.unwrap(), 0);
        store.ingest(h, device, vec![co(next_late, 10.0)], T0).await.unwrap(); // late again, for what follows
    }
    // A late reading that arrives during the pass stays noted, whichever finish is used.
    let claim = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap().remove(0);
    store.ingest(h, device, vec![co(1, 10.0)], T0).await.unwrap();
    store.finish_alarm_work(&[(&claim, None)]).await.unwrap();
    let next = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap().remove(0);
    assert_eq!(next.late_from, Some(now(1)));
    store.ingest(h, device, vec![co(0, 10.0)], T0).await.unwrap();
    store.finish_work(WorkKind::Alarms, std::slice::from_ref(&next)).await.unwrap();
    let last = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap().remove(0);
    assert_eq!(last.late_from, Some(now(0)));
});

store_test!(a_batch_finishes_each_claim_by_its_own_version_and_lease_and_gives_back_the_rest, |store| async move {
    // The jobs finish (or give back) a whole batch in one statement; each device in it must
    // still be judged by its own claim.
    let (_, home) = owner(&store, "ana@example.org").await;
    let h = home.household_id;
    let now = |minutes: i64| petty_store::to_ms(T0 + Duration::minutes(minutes));
    let mut devices = Vec::new();
    for _ in 0..4 {
        devices.push(store.create_device(h, &monitor(), &secret(), T0).await.unwrap().id);
    }
    // Device 2's work is the oldest: a first claim takes it alone, with a short lease.
    store.ingest(h, devices[2], vec![co(4, 10.0)], T0).await.unwrap();
    let mut claims = store.claim_work(WorkKind::Analysis, now(10), 1_000, 1).await.unwrap();
    for device in [devices[0], devices[1], devices[3]] {
        store.ingest(h, device, vec![co(5, 10.0)], T0).await.unwrap();
    }
    claims.extend(store.claim_work(WorkKind::Analysis, now(10), 60_000, 10).await.unwrap());
    assert_eq!(claims.len(), 4);
    let of = |device| claims.iter().find(|c| c.device_id == device).unwrap().clone();
    // Device 1 gets new readings during the pass; device 2's lease runs out and another run
    // takes it.
    store.ingest(h, devices[1], vec![co(6, 10.0)], T0).await.unwrap();
    let other = store.claim_work(WorkKind::Analysis, now(10) + 2_000, 60_000, 10).await.unwrap();
    assert_eq!(other.iter().map(|c| c.device_id).collect::<Vec<_>>(), vec![devices[2]]);
    // Devices 0-2 are finished together, device 3 given back.
    store.finish_work(WorkKind::Analysis, &[of(devices[0]), of(devices[1]), of(devices[2])]).await.unwrap();
    store.release_work(WorkKind::Analysis, &[of(devices[3])]).await.unwrap();
    let mut next = store.claim_work(WorkKind::Analysis, now(10), 30_000, 10).await.unwrap();
    next.sort_by_key(|c| devices.iter().position(|d| *d == c.device_id));
    assert_eq!(
        next.iter().map(|c| (c.device_id, c.from_ms)).collect::<Vec<_>>(),
        vec![(devices[1], now(5)), (devices[3], now(5))],
        "the device with new readings keeps its work, the one given back is free at once, \
         and the one another run holds stays with it"
    );
    store.finish_work(WorkKind::Analysis, &other).await.unwrap();
    store.finish_work(WorkKind::Analysis, &next).await.unwrap();
    assert_eq!(store.pending_work(WorkKind::Analysis).await.unwrap(), 0);
});

store_test!(a_named_job_runs_on_one_holder_at_a_time_and_once_per_period, |store| async move {
    assert!(store.claim_job("retention", "node-a", 1_000, 60_000, 3_600_000).await.unwrap());
    assert!(!store.claim_job("retention", "node-b", 1_500, 60_000, 3_600_000).await.unwrap(), "a holds it");
    store.finish_job("retention", "node-a", 2_000).await.unwrap();
    assert!(!store.claim_job("retention", "node-b", 3_000, 60_000, 3_600_000).await.unwrap(), "ran an hour ago");
    assert!(store.claim_job("retention", "node-b", 3_602_000, 60_000, 3_600_000).await.unwrap());
});

store_test!(groups_and_the_jobs_finishes_over_the_same_devices_never_wait_for_each_other, |store| async move {
    // 100 monitors sending at once (several groups committed together, each touching its devices
    // in id order) while the job finishes and gives back its claims on the same devices, listed
    // newest id first. On PostgreSQL a finish that locked them in another order than the groups
    // deadlocked with them, and a group's readings were refused (found by `ingest.sh` with 100
    // collars). Every reading must be stored and every finish done.
    let (_, home) = owner(&store, "ana@example.org").await;
    let h = home.household_id;
    let mut devices = Vec::new();
    for _ in 0..100 {
        devices.push(store.create_device(h, &monitor(), &secret(), T0).await.unwrap().id);
    }
    for round in 0..30_i64 {
        let mut calls = tokio::task::JoinSet::new();
        for (i, device) in devices.iter().copied().enumerate() {
            let store = store.clone();
            calls.spawn(async move { store.ingest(h, device, vec![co(round, i as f64)], T0).await.map(|_| ()) });
        }
        let now = petty_store::to_ms(T0 + Duration::minutes(round + 1));
        for kind in [WorkKind::Alarms, WorkKind::Analysis] {
            let mut claims = store.claim_work(kind, now, 30_000, 100).await.unwrap();
            claims.sort_by_key(|c| std::cmp::Reverse(c.device_id.0));
            let (first, rest) = claims.split_at(claims.len() / 2);
            let (first, rest) = (first.to_vec(), rest.to_vec());
            let finisher = store.clone();
            calls.spawn(async move { finisher.finish_work(kind, &first).await });
            let giver = store.clone();
            calls.spawn(async move { giver.release_work(kind, &rest).await });
        }
        while let Some(call) = calls.join_next().await {
            call.unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
    for device in devices {
        assert_eq!(stored_values(&store, h, device).await.len(), 30);
    }
});

store_test!(
    the_alarm_jobs_batch_read_gives_each_device_its_runs_and_only_the_readings_they_have_not_seen,
    |store| async move {
        // The alarm job reads a whole batch of claims at once; each device must get its own row,
        // its own kept runs and the readings after their watermark, and nothing for runs that a
        // late reading has made stale.
        let (_, home) = owner(&store, "ana@example.org").await;
        let h = home.household_id;
        let now = |minutes: i64| petty_store::to_ms(T0 + Duration::minutes(minutes));
        let mut devices = Vec::new();
        for _ in 0..5 {
            let device = store.create_device(h, &monitor(), &secret(), T0).await.unwrap().id;
            store.ingest(h, device, (0..6).map(|m| co(m, m as f64)).collect(), T0).await.unwrap();
            devices.push(device);
        }
        // Runs are kept for all but the fourth, having seen the readings through minute 5.
        let claims = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap();
        assert_eq!(claims.len(), 5);
        let runs = |d: petty_core::ids::DeviceId| d.0.as_bytes().to_vec();
        let kept: Vec<(petty_core::ids::DeviceId, Vec<u8>)> =
            [devices[0], devices[1], devices[2], devices[4]].iter().map(|d| (*d, runs(*d))).collect();
        let done: Vec<petty_store::AlarmWorkDone<'_>> = claims
            .iter()
            .map(|c| (c, kept.iter().find(|(d, _)| *d == c.device_id).map(|(_, r)| (now(5), r.as_slice()))))
            .collect();
        store.finish_alarm_work(&done).await.unwrap();
        // New readings for all; the second device also gets one older than its runs' watermark;
        // the third has nothing new; the fourth (no runs) is deleted once claimed; the fifth's
        // page is read in the same batch as the first's, and must not be mixed with it.
        for device in [devices[0], devices[1], devices[3]] {
            store.ingest(h, device, (6..9).map(|m| co(m, m as f64)).collect(), T0).await.unwrap();
        }
        store.ingest(h, devices[4], (6..9).map(|m| co(m, m as f64 * 10.0)).collect(), T0).await.unwrap();
        store.ingest(h, devices[1], vec![co(3, 30.5)], T0).await.unwrap();
        let mut claims = store.claim_work(WorkKind::Alarms, now(10), 30_000, 10).await.unwrap();
        assert_eq!(claims.len(), 4, "the third device has no new work");
        claims.sort_by_key(|c| devices.iter().position(|d| *d == c.device_id));
        store.delete_device(h, devices[3]).await.unwrap();
        // A page of two: the first device's three new readings come as two and a cursor.
        let inputs = store.alarm_inputs(&claims, 2).await.unwrap();
        assert_eq!(inputs.len(), 4);
        let first = &inputs[0];
        assert_eq!(first.device.as_ref().map(|d| d.id), Some(devices[0]));
        assert_eq!(first.runs, Some((now(5), runs(devices[0]))));
        let (page, cursor) = first.after_runs.as_ref().expect("the readings after the runs' watermark");
        let values: Vec<f64> = page.iter().filter_map(|r| r.reading.value(Metric::CoPpm)).collect();
        assert_eq!(values, vec![6.0, 7.0]);
        assert_eq!(cursor.map(|c| c.ts_ms), Some(now(7)), "the third is on the next page");
        let second = &inputs[1];
        assert_eq!(second.device.as_ref().map(|d| d.id), Some(devices[1]));
        assert_eq!(second.runs, Some((now(5), runs(devices[1]))));
        assert!(second.after_runs.is_none(), "a reading older than the runs have seen makes them stale");
        let fourth = &inputs[2];
        assert!(
            fourth.device.is_none() && fourth.runs.is_none() && fourth.after_runs.is_none(),
            "a deleted device is gone"
        );
        let fifth = &inputs[3];
        assert_eq!(fifth.device.as_ref().map(|d| d.id), Some(devices[4]));
        let (page, cursor) = fifth.after_runs.as_ref().expect("the fifth device's readings after its runs");
        let values: Vec<f64> = page.iter().filter_map(|r| r.reading.value(Metric::CoPpm)).collect();
        assert_eq!(values, vec![60.0, 70.0], "its own readings, oldest first");
        assert_eq!(cursor.map(|c| c.ts_ms), Some(now(7)));
        // Another household's claim on the first device reads nothing of it.
        let (_, other) = owner(&store, "bo@example.org").await;
        let mut foreign = claims[0].clone();
        foreign.household_id = other.household_id;
        let inputs = store.alarm_inputs(&[foreign], 10).await.unwrap();
        assert!(inputs[0].device.is_none());
    }
);
