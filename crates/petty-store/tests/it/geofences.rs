//! Geofences as stored: shapes round-trip, states and events are written together and stay in
//! their household, and a changed shape starts its collars' states over.

use std::collections::BTreeMap;

use petty_core::devices::{DeviceKind, DeviceProfile};
use petty_core::geofence::{Fence, FenceEvent, FenceEventKind, FenceRules, FenceState, Shape};
use petty_core::pets::Species;
use petty_store::StoreError;

use crate::fixtures::{T0, owner, pet, secret};
use crate::harness::store_test;

store_test!(fences_states_and_events_are_kept_per_household, |store| async move {
    let (_, m) = owner(&store, "ana@example.com").await;
    let h = m.household_id;
    let bella = store.create_pet(h, &pet("Bella", Species::Dog), T0).await.unwrap();
    let profile = DeviceProfile {
        name: "collar".into(),
        kind: DeviceKind::Collar,
        pet_id: Some(bella.id),
        model: None,
        firmware: None,
        expected_interval_secs: 60,
        calibration: BTreeMap::new(),
        serial: None,
    };
    let device = store.create_device(h, &profile, &secret(), T0).await.unwrap();
    let garden = Fence { name: "Garden".into(), shape: Shape::Circle { lat: 52.37, lon: 4.89, radius_m: 50.0 } };
    let park = Fence { name: "Park".into(), shape: Shape::Polygon(vec![(52.0, 4.0), (52.0, 4.01), (52.01, 4.0)]) };
    let rules = FenceRules { dwell_ms: 30_000, max_accuracy_m: 40.0 };
    let g = store.create_geofence(h, &garden, rules, T0).await.unwrap();
    let p = store.create_geofence(h, &park, FenceRules::default(), T0).await.unwrap();
    assert_eq!((g.fence.clone(), g.rules), (garden.clone(), rules));
    assert_eq!(store.get_geofence(h, p.id).await.unwrap().fence, park);

    let t0 = petty_store::to_ms(T0);
    let outside = FenceState {
        known: true,
        inside: false,
        outside_since_ms: Some(t0),
        candidate_since_ms: None,
        last_fix_ms: Some(t0 + 60_000),
    };
    let exit = FenceEvent { kind: FenceEventKind::Exited, at_ms: t0, explanation: "Bella left Garden".into() };
    let stored =
        store.apply_geofence_steps(h, device.id, Some(bella.id), &[(g.id, outside, vec![exit])]).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(store.geofence_states(h, device.id).await.unwrap()[0].state, outside);
    let events = store.geofence_events(h, bella.id, t0, t0 + 1).await.unwrap();
    assert_eq!((events.len(), events[0].kind.as_str()), (1, "exited"));

    // Another household sees nothing and cannot write states for a fence that is not its own.
    let (_, other) = owner(&store, "bo@example.com").await;
    assert!(matches!(store.get_geofence(other.household_id, g.id).await, Err(StoreError::NotFound)));
    assert!(store.list_geofences(other.household_id).await.unwrap().is_empty());
    assert!(store.geofence_events(other.household_id, bella.id, t0, t0 + 1).await.unwrap().is_empty());
    store.apply_geofence_steps(other.household_id, device.id, None, &[(g.id, outside, vec![])]).await.unwrap();
    assert!(store.geofence_status(other.household_id, g.id).await.unwrap().is_empty());

    // A new shape starts over; deleting removes the fence with its states and events.
    store.update_geofence(h, g.id, &park, rules, T0).await.unwrap();
    assert!(store.geofence_status(h, g.id).await.unwrap().is_empty());
    store.delete_geofence(h, g.id).await.unwrap();
    assert!(store.geofence_events(h, bella.id, t0, t0 + 1).await.unwrap().is_empty());
    assert!(matches!(store.delete_geofence(h, g.id).await, Err(StoreError::NotFound)));
});
