//! Wiring: open the store, migrate, build the HTTP edge, serve until SIGINT/SIGTERM, then
//! finish requests in flight and close the database cleanly.

use std::time::Instant;

use anyhow::Context;
use petty_http::AppState;
use petty_store::Store;

use crate::config::Loaded;
use crate::demo;

/// Opens the configured database (creating the data folder for SQLite) and migrates it.
pub(crate) async fn open_store(loaded: &Loaded) -> anyhow::Result<Store> {
    let config = &loaded.config;
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("could not create the data folder {}", config.data_dir.display()))?;
    }
    let url = config.database_url();
    let store =
        Store::connect(&url).await.with_context(|| format!("could not open the database ({})", store_label(loaded)))?;
    store.migrate().await.context("could not migrate the database")?;
    Ok(store)
}

fn store_label(loaded: &Loaded) -> String {
    match &loaded.config.database_url {
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite at {}", loaded.config.data_dir.join("petty.db").display()),
    }
}

/// `petty migrate`.
pub async fn migrate(loaded: Loaded) -> anyhow::Result<()> {
    let store = open_store(&loaded).await?;
    store.close().await;
    tracing::info!(database = %store_label(&loaded), "schema is up to date");
    Ok(())
}

/// `petty serve`.
pub async fn serve(loaded: Loaded, seed_demo: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = &loaded.config;
    let store = open_store(&loaded).await?;
    let http = config.http(config.jwt_secret()?);
    if seed_demo {
        demo::seed(&store).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("could not listen on {} (is another server using it? try --listen)", config.listen))?;
    let address = listener.local_addr()?;
    let shutdown = shutdown_signal()?;
    tracing::info!(
        database = %store_label(&loaded),
        startup_ms = started.elapsed().as_millis() as u64,
        "Petty is listening on http://{address} (API docs at http://{address}/docs)"
    );
    let bus = match &config.nats.url {
        Some(url) => {
            let bus = petty_bus::Bus::nats(url).await.map_err(anyhow::Error::msg)?;
            tracing::info!(url = %url, "live events fan out through NATS");
            bus
        }
        None => petty_bus::Bus::local(),
    };
    let state = AppState::with_bus(store.clone(), http, bus);
    let liveness = tokio::spawn(liveness_job(state.clone()));
    let alarms = tokio::spawn(petty_http::alarms::run(state.clone()));
    let notify = tokio::spawn(petty_http::notify::run(state.clone()));
    let retention = tokio::spawn(retention_job(store.clone()));
    let model = petty_http::analysis::load_model(&state).await.context("reading the behaviour model")?;
    tracing::info!(model = %model, "behaviour analysis model");
    let analysis = tokio::spawn(petty_http::analysis::run(state.clone()));
    let mqtt = match &config.mqtt.url {
        Some(url) => {
            let options = petty_http::mqtt::options(url, &config.mqtt.client_id).map_err(anyhow::Error::msg)?;
            tracing::info!(url = %url, topic = petty_http::mqtt::TOPIC, "taking readings over MQTT");
            Some(tokio::spawn(petty_http::mqtt::run(state.clone(), options)))
        }
        None => None,
    };
    petty_http::serve(listener, state, shutdown).await.context("the server stopped with an error")?;
    if let Some(mqtt) = mqtt {
        // Messages not yet committed are not acknowledged; the broker sends them again.
        mqtt.abort();
    }
    retention.abort();
    analysis.abort();
    alarms.abort();
    notify.abort();
    liveness.abort();
    tracing::info!("requests finished; closing the database");
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Removes readings and rollups older than their household keeps them: shortly after start,
/// then every hour. Says what it removed; a failed pass is logged and tried again next hour.
async fn retention_job(store: petty_store::Store) {
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(30),
        std::time::Duration::from_secs(3600),
    );
    loop {
        tick.tick().await;
        match store.enforce_retention(time::OffsetDateTime::now_utc()).await {
            Ok(report) => {
                metrics::counter!("petty_retention_removed_total", "kind" => "readings")
                    .increment(report.readings_removed);
                metrics::counter!("petty_retention_removed_total", "kind" => "rollups")
                    .increment(report.rollups_removed);
                if report.readings_removed + report.rollups_removed > 0 {
                    tracing::info!(
                        readings = report.readings_removed,
                        rollups = report.rollups_removed,
                        "retention removed readings and rollups past their households' periods"
                    );
                } else {
                    tracing::debug!("retention: nothing to remove");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention pass failed; trying again in an hour"),
        }
    }
}

/// Every 15 s, notes which devices went stale or offline, came back, or ran low on battery;
/// each change is recorded (`GET /api/v1/devices/{id}/events`) and published on the household's
/// `household:{id}:alarms` topic for live dashboards and raised or cleared as alarms (the offline and battery rules).
async fn liveness_job(state: petty_http::AppState) {
    let (store, bus) = (&state.store, &state.bus);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
    loop {
        tick.tick().await;
        let events = match store.liveness_pass(time::OffsetDateTime::now_utc()).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "liveness pass failed; trying again shortly");
                continue;
            }
        };
        for event in events {
            tracing::info!(device_id = %event.device_id, kind = event.kind.as_str(), "{}", event.detail);
            let payload = serde_json::json!({
                "source": "device",
                "device_id": event.device_id.0,
                "kind": event.kind.as_str(),
                "at": event.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                "detail": event.detail,
            });
            bus.publish(&format!("household:{}:alarms", event.household_id), payload.to_string().into()).await;
            if let Err(e) = petty_http::alarms::device_event(&state, &event).await {
                tracing::warn!(error = %e, "a device event's alarm was not recorded");
            }
        }
    }
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed now, before
/// the server announces itself, so a signal that arrives at once is not lost.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("could not listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("could not listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C received; shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received; shutting down"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C received; shutting down");
        }
    })
}
