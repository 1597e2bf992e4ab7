//! `App::ingest`: the one way a reading enters Petty, from every transport.

use petty_bus::Topic;
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::Reading;
use petty_store::{IngestOutcome, StoreError, StoredReading};

use crate::App;
use crate::readings::ReadingOut;

/// Who sends readings, resolved by the edge to one device of one household (a device token, an
/// API key naming its device, a collar's serial, an MQTT message's token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    pub household_id: HouseholdId,
    pub device_id: DeviceId,
}

impl App {
    /// Stores checked readings of one device and answers each one's fate, in order: accepted
    /// (stored now) or duplicate (stored before). Nothing is answered before it is committed.
    ///
    /// The same transaction notes the work the readings leave for the jobs; once it is
    /// committed, the accepted readings are published on `device:{id}` and this node's jobs are
    /// woken. A reading without a sequence number that differs from one stored at the same
    /// event time is stored under the next free sequence number (devices whose clocks count
    /// whole seconds send several readings a second); only the same content is a duplicate.
    #[tracing::instrument(level = "debug", skip_all, fields(device_id = %sender.device_id, readings = readings.len()))]
    pub async fn ingest(&self, sender: Sender, readings: Vec<Reading>) -> Result<Vec<IngestOutcome>, StoreError> {
        if readings.is_empty() {
            return Ok(Vec::new());
        }
        let received_at = self.now();
        let topic = Topic::Device(sender.device_id);
        // A copy only when someone listens: most readings have no live audience.
        let watched = self.bus.has_listeners(topic).then(|| readings.clone());
        let outcomes = self.store.ingest(sender.household_id, sender.device_id, readings, received_at).await?;
        if outcomes.contains(&IngestOutcome::Accepted) {
            self.wake.alarms.notify_one();
            self.wake.analysis.notify_one();
        }
        if let Some(readings) = watched {
            for (reading, outcome) in readings.into_iter().zip(&outcomes) {
                if *outcome != IngestOutcome::Accepted {
                    continue;
                }
                let out = ReadingOut::from(StoredReading { device_id: sender.device_id, reading, received_at });
                if let Ok(json) = serde_json::to_vec(&out) {
                    self.bus.publish(topic, json.into()).await;
                }
            }
        }
        Ok(outcomes)
    }
}
