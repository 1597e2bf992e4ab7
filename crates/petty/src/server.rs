//! Wiring: open the store, migrate, start the jobs and the MQTT subscriber, serve the
//! application (`petty::serve`) until SIGINT/SIGTERM, then finish requests in flight and close
//! the database cleanly.

use std::time::{Duration, Instant};

use anyhow::Context;
use petty_http::AppState;
use petty_store::Store;

use crate::config::Loaded;
use crate::{demo, homeassistant, mqtt};

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
    if config.database_url.is_none()
        && let (Some(applied), known) = store.schema_versions().await.context("could not read the schema's version")?
        && applied < known
    {
        let copy = backup_before_migration(&config.data_dir, applied).await?;
        tracing::info!(path = %copy.display(), from = applied, to = known, "copied the database before migrating it");
    }
    store.migrate().await.context("could not migrate the database")?;
    Ok(store)
}

/// How many copies taken before a migration are kept (the oldest go first).
const MIGRATION_BACKUPS_KEPT: usize = 3;

/// A snapshot of the embedded database in `data_dir/backups`, taken before migrating it from
/// `applied`: an upgrade that goes wrong can be undone by putting it back as `petty.db` and
/// running the older Petty.
async fn backup_before_migration(data_dir: &std::path::Path, applied: i64) -> anyhow::Result<std::path::PathBuf> {
    let dir = data_dir.join("backups");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let copy = dir.join(format!("petty-before-migration-{}-at-{applied}.db", crate::backup::utc_stamp()));
    petty_store::snapshot_sqlite(&data_dir.join("petty.db"), &copy)
        .await
        .context("could not copy the database before migrating it (nothing was changed)")?;
    let mut kept: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("petty-before-migration-")))
        .collect();
    kept.sort();
    for old in kept.iter().rev().skip(MIGRATION_BACKUPS_KEPT) {
        let _ = std::fs::remove_file(old);
    }
    Ok(copy)
}

fn store_label(loaded: &Loaded) -> String {
    match &loaded.config.database_url {
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite at {}", loaded.config.data_dir.join("petty.db").display()),
    }
}

/// `petty migrate`.
pub(crate) async fn migrate(loaded: Loaded) -> anyhow::Result<()> {
    let store = open_store(&loaded).await?;
    store.close().await;
    tracing::info!(database = %store_label(&loaded), "schema is up to date");
    Ok(())
}

/// `petty serve`.
pub(crate) async fn serve(loaded: Loaded, seed_demo: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = &loaded.config;
    let store = open_store(&loaded).await?;
    let http_secret = config.jwt_secret()?;
    let http = config.http(http_secret.clone());
    let demo = match seed_demo {
        // A clock of its own, which the fortnight's replay moves along.
        true => {
            let seeding =
                petty_app::App::new(store.clone(), petty_bus::Bus::local(), http.app_settings(), &http.jwt_secret);
            Some(demo::seed(&seeding).await.context("making the demo household")?)
        }
        false => None,
    };
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
    let bus = bus(&loaded).await?;
    let storage = petty_app::files::Storage::open(&http.files.storage).context("could not open the file storage")?;
    tracing::info!(storage = %storage.label(), "uploaded files are kept here");
    let app = petty_app::App::new(store.clone(), bus.clone(), http.app_settings(), &http.jwt_secret);
    let model = petty_app::analysis::load_model(&app).await.context("reading the behaviour model")?;
    tracing::info!(model = %model, "behaviour analysis model");
    if let Some(llm) = &http.llm {
        tracing::info!(
            model = %llm.api.model,
            base_url = %llm.api.base_url,
            daily_calls_per_user = llm.daily_calls_per_user,
            "the life log's summary insight asks a language model"
        );
    }
    let state = AppState::with_app(app.clone(), http);
    let mut jobs = petty_jobs::Scheduler::new(app.clone());
    jobs.spawn(petty_jobs::alarms::JudgeAlarms);
    jobs.spawn(petty_jobs::alarms::SilenceSweep);
    jobs.spawn(petty_jobs::analysis::Analyse);
    jobs.spawn(petty_jobs::liveness::Liveness);
    jobs.spawn(petty_jobs::retention::Retention);
    jobs.spawn(petty_jobs::outbox::Outbox);
    jobs.spawn(petty_jobs::files::SweepUploads);
    jobs.spawn(petty_jobs::reminders::Reminders);
    jobs.spawn(petty_jobs::life_models::LifeModels);
    if config.backup.interval_secs > 0 {
        if config.database_url.is_none() {
            tracing::info!(every_secs = config.backup.interval_secs, keep = config.backup.keep, "scheduled backups");
            let stopping = jobs.stopping();
            jobs.spawn_task("backups", crate::backup::scheduled(loaded.clone(), stopping));
        } else {
            tracing::warn!("backup.interval_secs backs up an embedded Petty: on PostgreSQL, schedule pg_dump instead");
        }
    }
    if let Some(demo) = demo.filter(|_| config.demo.live_devices) {
        let stopping = jobs.stopping();
        jobs.spawn_task("demo devices", demo::keep_sending(app, demo, stopping));
    }
    if let Some(url) = &config.mqtt.url {
        if config.mqtt.home_assistant {
            let client_id = format!("{}-home-assistant", config.mqtt.client_id);
            let mut options = mqtt::options(url, &client_id).map_err(anyhow::Error::msg)?;
            options.set_clean_session(true).set_manual_acks(false);
            let discovery = homeassistant::Discovery {
                prefix: config.mqtt.discovery_prefix.clone(),
                installation: homeassistant::installation(&http_secret),
                every: Duration::from_secs(config.mqtt.discovery_interval_secs),
            };
            tracing::info!(prefix = %discovery.prefix, "announcing the devices to Home Assistant (MQTT discovery)");
            let announcing = homeassistant::run(store.clone(), options, discovery, jobs.stopping());
            jobs.spawn_task("home assistant", announcing);
        }
        let options = mqtt::options(url, &config.mqtt.client_id).map_err(anyhow::Error::msg)?;
        tracing::info!(url = %url, topic = mqtt::TOPIC, "taking readings over MQTT");
        let mut stopping = jobs.stopping();
        let mqtt = mqtt::run(state.clone(), options);
        // Messages not yet committed are not acknowledged; the broker sends them again.
        jobs.spawn_task("mqtt", async move {
            tokio::select! {
                _ = mqtt => {}
                _ = stopping.changed() => {}
            }
        });
    }
    petty::serve(listener, state, shutdown).await.context("the server stopped with an error")?;
    tracing::info!("requests finished; stopping the jobs");
    jobs.shutdown().await;
    // The other nodes forget this one without telling their subscribers of a gap.
    bus.leave().await;
    tracing::info!("closing the database");
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The live events' bus: across nodes through NATS when configured, else this process's own.
async fn bus(loaded: &Loaded) -> anyhow::Result<petty_bus::Bus> {
    Ok(match &loaded.config.nats.url {
        Some(url) => {
            let bus = petty_bus::Bus::nats(url).await.map_err(anyhow::Error::msg)?;
            tracing::info!(servers = %petty_bus::redact_nats_urls(url), "live events fan out through NATS");
            bus
        }
        None => petty_bus::Bus::local(),
    })
}

/// `petty mcp`: MCP on stdin and stdout, acting with an API key (checked at start and again on
/// every call). No jobs run here: a `petty serve` on the same database runs them.
pub(crate) async fn mcp(loaded: Loaded, api_key: String) -> anyhow::Result<()> {
    let config = &loaded.config;
    // A `petty serve` on the same database makes its changes (a key revoked, a pet renamed)
    // in another process: nothing of them may be remembered here.
    let store = open_store(&loaded).await?.shared_with_other_processes();
    let http = config.http(config.jwt_secret()?);
    let bus = bus(&loaded).await?;
    let app = petty_app::App::new(store.clone(), bus.clone(), http.app_settings(), &http.jwt_secret);
    let state = AppState::with_app(app, http);
    tracing::info!(database = %store_label(&loaded), "serving MCP on stdin and stdout");
    let served = petty_http::mcp::serve_stdio(state, &api_key).await;
    bus.leave().await;
    store.close().await;
    served.context("petty mcp")
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
