//! Device liveness: which devices went stale or offline, came back, or ran low on battery.
//! Each change is recorded (`GET /api/v1/devices/{id}/events`), published on the household's
//! `household:{id}:alarms` topic, and raised or cleared as an alarm (the offline and battery
//! rules). One node at a time, every 15 s.

use petty_bus::Topic;
use std::time::Duration;

use petty_app::App;
use petty_store::StoreError;
use time::OffsetDateTime;

pub struct Liveness;

impl crate::Job for Liveness {
    fn name(&self) -> &'static str {
        "liveness"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(15)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        let now_ms = petty_store::to_ms(now);
        crate::with_lease(app, self.name(), self.every(app), now_ms, || pass(app, now)).await
    }
}

async fn pass(app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
    let events = app.store.liveness_pass(now).await?;
    for event in &events {
        tracing::info!(device_id = %event.device_id, kind = event.kind.as_str(), "{}", event.detail);
        let payload = serde_json::json!({
            "source": "device",
            "device_id": event.device_id.0,
            "kind": event.kind.as_str(),
            "at": petty_app::rfc3339::from_ms(petty_store::to_ms(event.at)),
            "detail": event.detail,
        });
        app.bus.publish(Topic::HouseholdAlarms(event.household_id), payload.to_string().into()).await;
        if let Err(e) = petty_app::alarms::device_event(app, event).await {
            tracing::warn!(error = %e, "a device event's alarm was not recorded");
        }
    }
    Ok(events.len())
}
