//! Judging a collar's new positions against its household's fences: each fence's state moves
//! through the fixes in event-time order (`petty_core::geofence::step`: an exit needs the fix's
//! accuracy and a dwell time), and what it confirms is stored with the new states in one
//! transaction and told on `pet:{id}` and `household:{id}:alarms`.

use petty_bus::Topic;
use petty_core::geofence::{FenceState, Fix, step};
use petty_store::{Device, Geofence, GeofenceEvent, StoreError};
use serde_json::json;

use petty_app::App;
use petty_app::timeline::TimelineItem;

/// The most readings one pass reads for one device.
const PAGE: u32 = 10_000;

/// Steps every fence of the device's household (`fences`, read once a pass) through the
/// device's positions with `from_ms <= ts <= to_ms`; answers the events it confirmed.
pub(crate) async fn evaluate(
    app: &App,
    device: &Device,
    fences: &[Geofence],
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<GeofenceEvent>, StoreError> {
    let household_id = device.household_id;
    if fences.is_empty() {
        return Ok(Vec::new());
    }
    let states = app.store.geofence_states(household_id, device.id).await?;
    let mut fixes = Vec::new();
    let (from, to) = (petty_store::from_ms(from_ms)?, petty_store::from_ms(to_ms + 1)?);
    let mut after = None;
    loop {
        let (page, next) = app.store.readings(household_id, device.id, from, to, after, PAGE).await?;
        fixes.extend(page.iter().filter_map(|r| {
            let l = r.reading.location?;
            Some(Fix { ts_ms: r.reading.ts_ms(), lat: l.lat, lon: l.lon, accuracy_m: l.accuracy_m })
        }));
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    if fixes.is_empty() {
        return Ok(Vec::new());
    }
    let mut steps = Vec::with_capacity(fences.len());
    for fence in fences {
        let mut current =
            states.iter().find(|s| s.geofence_id == fence.id).map_or_else(FenceState::default, |s| s.state);
        let mut events = Vec::new();
        for fix in &fixes {
            let (next, event) = step(&fence.fence, &current, *fix, &fence.rules);
            current = next;
            events.extend(event);
        }
        steps.push((fence.id, current, events));
    }
    let stored = app.store.apply_geofence_steps(household_id, device.id, device.profile.pet_id, &steps).await?;
    for event in &stored {
        let fence_name = fences.iter().find(|f| f.id == event.geofence_id).map(|f| f.fence.name.as_str());
        let message = json!({"type": "geofence", "fence": fence_name,
            "item": TimelineItem::from_geofence_event(event)})
        .to_string();
        if let Some(pet_id) = device.profile.pet_id {
            app.bus.publish(Topic::Pet(pet_id), message.clone().into()).await;
        }
        app.bus.publish(Topic::HouseholdAlarms(household_id), message.into()).await;
        let fence_id = event.geofence_id.to_string();
        let alarm = petty_app::alarms::EventAlarm {
            kind: petty_core::alarm::ConditionKind::GeofenceExit,
            device: Some((device.id, device.profile.kind)),
            pet_id: device.profile.pet_id,
            subtype: Some(&fence_id),
            title: format!("Left {}: {}", fence_name.unwrap_or("a safe zone"), device.profile.name),
            message: event.explanation.clone(),
            value: None,
            severity: None,
            at_ms: event.at_ms,
        };
        let done = if event.kind == "exited" {
            petty_app::alarms::raise_event(app, household_id, alarm).await
        } else {
            petty_app::alarms::clear_event(app, household_id, alarm, &event.explanation).await
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "a geofence alarm was not recorded");
        }
    }
    Ok(stored)
}
