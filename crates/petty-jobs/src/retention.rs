//! Retention: removes readings and rollups older than their household keeps them, and account
//! housekeeping past its use (sign-in history after a year, long-expired trusted devices,
//! finders' reports after a week). One node at a time, hourly; says what it removed.

use std::time::Duration;

use petty_app::App;
use petty_store::StoreError;
use time::OffsetDateTime;

pub struct Retention;

impl crate::Job for Retention {
    fn name(&self) -> &'static str {
        "retention"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(3600)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        let now_ms = petty_store::to_ms(now);
        crate::with_lease(app, self.name(), self.every(app), now_ms, || async {
            let report = app.store.enforce_retention(now).await?;
            let history = app.store.prune_history(now).await?;
            metrics::counter!("petty_retention_removed_total", "kind" => "account_history").increment(history);
            metrics::counter!("petty_retention_removed_total", "kind" => "readings").increment(report.readings_removed);
            metrics::counter!("petty_retention_removed_total", "kind" => "rollups").increment(report.rollups_removed);
            if report.readings_removed + report.rollups_removed > 0 {
                tracing::info!(
                    readings = report.readings_removed,
                    rollups = report.rollups_removed,
                    "retention removed readings and rollups past their households' periods"
                );
            }
            if history > 0 {
                tracing::info!(
                    rows = history,
                    "retention removed old sign-in history, trusted devices and found reports"
                );
            }
            Ok(usize::try_from(report.readings_removed + report.rollups_removed + history).unwrap_or(usize::MAX))
        })
        .await
    }
}
