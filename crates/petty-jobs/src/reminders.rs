//! Reminders: every second, each reminder whose occurrence (or snooze) has come is claimed
//! under a lease (so on N nodes each is told once), told of through its methods via the outbox
//! and as a live `reminder.due` event, and let go. An occurrence missed while every node was
//! down is told at start when it is at most 24 h late; older ones pass quietly.

use std::time::Duration;

use petty_app::App;
use petty_store::StoreError;
use time::OffsetDateTime;

pub struct Reminders;

impl crate::Job for Reminders {
    fn name(&self) -> &'static str {
        "reminders"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(1)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        petty_app::care::notify_due_reminders(app, now).await
    }
}
