//! Wiring: open the store, migrate, build the HTTP edge, serve until SIGINT/SIGTERM, then
//! finish requests in flight and close the database cleanly.

use std::time::Instant;

use anyhow::Context;
use petty_http::AppState;
use petty_store::Store;

use crate::config::Loaded;
use crate::demo;

async fn open_store(loaded: &Loaded) -> anyhow::Result<Store> {
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
    tracing::info!(
        database = %store_label(&loaded),
        startup_ms = started.elapsed().as_millis() as u64,
        "Petty is listening on http://{address} (API docs at http://{address}/docs)"
    );
    let state = AppState::new(store.clone(), http);
    petty_http::serve(listener, state, shutdown_signal()).await.context("the server stopped with an error")?;
    tracing::info!("requests finished; closing the database");
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
