//! What the behaviour analysis keeps: episodes replaced per span with stable ids, feedback that
//! outlives re-analysis, day summaries, one anomaly per pet, day and kind, serials, and tenancy.

use std::collections::BTreeMap;

use petty_core::behaviour::{Behaviour, Episode};
use petty_core::devices::{DeviceKind, DeviceProfile};
use petty_core::pets::Species;
use petty_store::{FeedbackVerdict, NewAnomaly, NewEpisodeFeedback, StoreError};
use time::macros::date;

use crate::fixtures::{T0, owner, pet, secret};
use crate::harness::store_test;

fn episode(start_min: i64, minutes: i64, label: Behaviour) -> Episode {
    let t0 = petty_store::to_ms(T0);
    Episode {
        start_ms: t0 + start_min * 60_000,
        end_ms: t0 + (start_min + minutes) * 60_000,
        label,
        confidence: 0.8,
        features: vec![("steps_per_min".to_owned(), 12.5)],
        model_version: "forest-test".to_owned(),
    }
}

fn collar(serial: Option<&str>, pet_id: Option<petty_core::ids::PetId>) -> DeviceProfile {
    DeviceProfile {
        name: "collar".to_owned(),
        kind: DeviceKind::Collar,
        pet_id,
        model: None,
        firmware: None,
        expected_interval_secs: 60,
        calibration: BTreeMap::new(),
        serial: serial.map(str::to_owned),
    }
}

store_test!(episodes_are_replaced_per_span_and_feedback_outlives_reanalysis, |store| async move {
    let (user, m) = owner(&store, "ana@example.com").await;
    let h = m.household_id;
    let bella = store.create_pet(h, &pet("Bella", Species::Dog), T0).await.unwrap();
    let device = store.create_device(h, &collar(Some("SN-123456"), Some(bella.id)), &secret(), T0).await.unwrap();
    let t0 = petty_store::to_ms(T0);
    let day = (t0, t0 + 86_400_000);

    let first = [episode(0, 30, Behaviour::Sleeping), episode(30, 10, Behaviour::Walking)];
    store.replace_episodes(h, bella.id, device.id, day.0, day.1, &first).await.unwrap();
    let stored = store.episodes(h, bella.id, day.0, day.1).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].episode, first[1]);
    let walk_id = stored[1].id;

    let fb = NewEpisodeFeedback {
        verdict: FeedbackVerdict::Relabelled,
        label: Some(Behaviour::Running),
        note: Some("she was sprinting".to_owned()),
        features: Some(vec![1.0, 2.0]),
        user_id: Some(user.id),
    };
    store.add_episode_feedback(h, &stored[1], &fb, T0).await.unwrap();

    // Re-analysis: the walk grew; the same start keeps its id and its feedback.
    let second = [episode(0, 30, Behaviour::Sleeping), episode(30, 15, Behaviour::Running)];
    store.replace_episodes(h, bella.id, device.id, day.0, day.1, &second).await.unwrap();
    let stored = store.episodes(h, bella.id, day.0, day.1).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].id, walk_id);
    assert_eq!(stored[1].episode.label, Behaviour::Running);
    let note = stored[1].feedback.as_ref().unwrap();
    assert_eq!((note.verdict, note.label), (FeedbackVerdict::Relabelled, Some(Behaviour::Running)));
    let all = store.episode_feedback(h, bella.id, 100).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].said, all[0].features.as_deref()), (Behaviour::Walking, Some(&[1.0, 2.0][..])));

    // Another household sees none of it.
    let (_, other) = owner(&store, "bo@example.com").await;
    assert!(store.episodes(other.household_id, bella.id, day.0, day.1).await.unwrap().is_empty());
    assert!(matches!(store.episode(other.household_id, bella.id, walk_id).await, Err(StoreError::NotFound)));
    assert!(store.episode_feedback(other.household_id, bella.id, 100).await.unwrap().is_empty());

    // Serials are unique and find their device.
    assert_eq!(store.device_by_serial("SN-123456").await.unwrap().map(|d| d.id), Some(device.id));
    let taken = store.create_device(other.household_id, &collar(Some("SN-123456"), None), &secret(), T0).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))));
    assert_eq!(store.pet_devices(h, bella.id).await.unwrap().len(), 1);
});

store_test!(one_anomaly_per_pet_day_and_kind_and_days_are_rewritten, |store| async move {
    let (_, m) = owner(&store, "ana@example.com").await;
    let h = m.household_id;
    let bella = store.create_pet(h, &pet("Bella", Species::Dog), T0).await.unwrap();
    let new = NewAnomaly {
        kind: "elevated_resting_heart_rate".to_owned(),
        severity: "major".to_owned(),
        at_ms: petty_store::to_ms(T0),
        explanation: "Resting heart rate 112 bpm is 1.7 × the 7-day baseline of 66 bpm".to_owned(),
        value: 112.0,
        baseline: Some(66.0),
    };
    let day = date!(2026 - 11 - 20);
    let mut fresh = 0;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, new) = (store.clone(), new.clone());
            tokio::spawn(async move { store.record_anomaly(h, bella.id, day, &new, T0).await })
        })
        .collect();
    for t in tasks {
        if t.await.unwrap().unwrap().1 {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "ten passes over the same day record one anomaly");
    let t0 = petty_store::to_ms(T0);
    assert_eq!(store.anomalies(h, bella.id, t0 - 1, t0 + 1).await.unwrap().len(), 1);

    store.put_pet_day(h, bella.id, day, "{\"a\":1}", Some(70), T0).await.unwrap();
    store.put_pet_day(h, bella.id, day, "{\"a\":2}", Some(72), T0).await.unwrap();
    let days = store.pet_days(h, bella.id, date!(2026 - 11 - 01), date!(2026 - 11 - 30)).await.unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].summary.as_str(), days[0].wellness), ("{\"a\":2}", Some(72)));
});

store_test!(one_trained_model_is_active_at_a_time, |store| async move {
    assert_eq!(store.active_behaviour_model().await.unwrap(), None);
    store.save_behaviour_model("forest-1.aaaa", "model a", "2 dogs", true, T0).await.unwrap();
    store.save_behaviour_model("forest-1.bbbb", "model b", "3 dogs", false, T0).await.unwrap();
    assert_eq!(store.active_behaviour_model().await.unwrap(), Some(("forest-1.aaaa".into(), "model a".into())));
    store.save_behaviour_model("forest-1.bbbb", "model b", "3 dogs", true, T0).await.unwrap();
    assert_eq!(store.active_behaviour_model().await.unwrap(), Some(("forest-1.bbbb".into(), "model b".into())));
});
