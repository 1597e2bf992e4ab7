//! The outbox: escalates every active alarm (queues the steps that are due) and sends what is
//! due, claimed with a lease so every row is sent by one node, at least once; and sends the
//! account mail (reset and verification links) that could not go out at once.

use std::time::Duration;

use petty_app::App;
use petty_store::StoreError;
use time::OffsetDateTime;

/// Rows claimed at once.
const BATCH: u32 = 16;

pub struct Outbox;

impl crate::Job for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn every(&self, app: &App) -> Duration {
        app.settings.notify.tick
    }

    fn wake<'a>(&self, app: &'a App) -> Option<&'a tokio::sync::Notify> {
        Some(&app.wake.outbox)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        let now_ms = petty_store::to_ms(now);
        for alarm in app.store.active_alarms_everywhere(5000).await? {
            petty_app::notify::escalate(app, &alarm, now_ms).await;
        }
        let sent = send_due(app, now_ms).await?;
        Ok(sent + petty_app::account_mail::deliver_due(app, now_ms).await?)
    }
}

/// Sends every notification that is due now (tests call this instead of the scheduler);
/// answers how many were tried. A failure to claim is logged.
pub async fn deliver_due(app: &App) -> usize {
    send_due(app, app.now_ms()).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "claiming notifications failed");
        0
    })
}

/// Sends every notification that is due at `now_ms`; answers how many were tried.
async fn send_due(app: &App, now_ms: i64) -> Result<usize, StoreError> {
    let lease = app.settings.notify.lease.as_millis() as i64;
    let mut tried = 0;
    loop {
        let batch = app.store.claim_notifications(now_ms, lease, BATCH).await?;
        if batch.is_empty() {
            return Ok(tried);
        }
        tried += batch.len();
        let sends = batch.into_iter().map(|n| petty_app::notify::deliver(app, n));
        futures_util::future::join_all(sends).await;
    }
}
