//! Serving on a bound listener until told to stop, mini-redis style: the caller binds (tests
//! bind port 0) and hands in the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::routes::router;
use crate::state::AppState;

/// Serves Petty on `listener` until `shutdown` resolves, then stops accepting connections and
/// waits for requests in flight to finish. The caller closes the store afterwards.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits.clone();
    // Rate-limit state for clients that went quiet is dropped once a minute.
    let pruner = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limits.prune();
        }
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    pruner.abort();
    result
}
