//! Life-log models: trains each person's energy and mood models when due (daily at 02:00 UTC
//! after new reports, as soon as 50 new reports gathered, or when they asked). Each person is
//! claimed in the database before training, so on N nodes each is trained once.

use std::time::Duration;

use petty_app::App;
use petty_store::StoreError;
use time::OffsetDateTime;

pub struct LifeModels;

impl crate::Job for LifeModels {
    fn name(&self) -> &'static str {
        "life_models"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(60)
    }

    fn wake<'a>(&self, app: &'a App) -> Option<&'a tokio::sync::Notify> {
        Some(&app.wake.life_models)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        petty_app::lifelog::train_due(app, now).await
    }
}
