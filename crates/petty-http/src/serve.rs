//! Serving on a bound listener until told to stop, mini-redis style: the caller binds (tests
//! bind port 0), composes the application and hands in the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::state::AppState;

/// Serves `app` (the application, composed with its state: `petty::router`) on `listener` until
/// `shutdown` resolves, then stops accepting connections and waits for requests in flight to
/// finish. `state` is the one `app` holds, for the housekeeping. The caller closes the store
/// afterwards.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let housekeeping = state.clone();
    // Housekeeping: rate-limit state for clients that went quiet is dropped once a minute, and
    // the metrics recorder drains its histogram buckets every few seconds (without that they
    // grow with every request until someone scrapes /metrics).
    let pruner = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            ticks += 1;
            crate::observability::prometheus().run_upkeep();
            if ticks % 12 == 0 {
                housekeeping.limits.prune();
            }
        }
    });
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    pruner.abort();
    result
}
