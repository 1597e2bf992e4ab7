//! The sweep of uploads never confirmed: an upload URL's pending file, with whatever bytes
//! arrived for it, is removed a day after it was made (`petty_app::files::sweep_unconfirmed`).
//! One node at a time, hourly.

use std::time::Duration;

use petty_app::App;
use petty_store::StoreError;
use time::OffsetDateTime;

pub struct SweepUploads;

impl crate::Job for SweepUploads {
    fn name(&self) -> &'static str {
        "sweep_uploads"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(3600)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        let now_ms = petty_store::to_ms(now);
        crate::with_lease(app, self.name(), self.every(app), now_ms, || async {
            match petty_app::files::sweep_unconfirmed(app, now).await {
                Ok(removed) => {
                    metrics::counter!("petty_uploads_swept_total").increment(removed as u64);
                    Ok(removed)
                }
                Err(petty_app::files::FileError::Store(e)) => Err(e),
                // The object store did not answer: what is left is tried again next hour.
                Err(e) => {
                    tracing::warn!(error = %e, "the sweep of unconfirmed uploads could not finish");
                    Ok(0)
                }
            }
        })
        .await
    }
}
