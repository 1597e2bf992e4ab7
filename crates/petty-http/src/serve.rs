//! Serving on a bound listener until told to stop, mini-redis style: the caller binds (tests
//! bind port 0), composes the application and hands in the shutdown signal.
//!
//! Connections are accepted here rather than by `axum::serve`, which has no connection limits:
//!
//! - **Header-read timeout** (`header_read_timeout`, 10 s): a request's head (request line and
//!   headers) must arrive whole within this time, counted from when the connection opens or its
//!   previous answer was sent (hyper's timer); a client that trickles a header (slowloris) is
//!   disconnected. Bodies are bounded by the request timeout instead.
//! - **Idle timeout** (`idle_timeout`, 5 s): a keep-alive connection on which nothing was read
//!   or written for this long is closed; one whose answer is still being worked on is closed
//!   once it is sent. Since hyper counts the head's time from the previous answer, an idle
//!   connection is also closed after the header-read timeout, whichever is shorter.
//! - **Connections per address** (`max_connections_per_ip`, 128; 0 for no cap): a connection
//!   over the cap from one peer address is closed as soon as it is accepted (counted in
//!   `petty_http_connections_refused_total`). It counts socket peers: behind a proxy, the proxy
//!   is one address.
//!
//! All three cost per connection, never per request.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::Service;

use crate::state::AppState;

/// Serves `app` (the application, composed with its state: `petty::router`) on `listener` until
/// `shutdown` resolves, then stops accepting connections and waits for requests in flight to
/// finish. `state` is the one `app` holds, for the housekeeping and the connection limits. The
/// caller closes the store afterwards.
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
    let limits = Limits {
        header_read_timeout: state.config.header_read_timeout,
        idle_timeout: state.config.idle_timeout,
        per_ip: Arc::new(PerIp { max: state.config.max_connections_per_ip, open: Mutex::default() }),
    };
    // `stop` tells connections to finish; every connection holds a `running` receiver, so
    // `running_tx.closed()` resolves once the last has ended.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (running_tx, running_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admitted) = limits.per_ip.admit(peer.ip()) else {
            tracing::debug!(peer = %peer.ip(), "connection refused: too many from this address");
            metrics::counter!("petty_http_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        tokio::spawn(connection(
            stream,
            peer,
            admitted,
            app.clone(),
            limits.clone(),
            stop_rx.clone(),
            running_rx.clone(),
        ));
    }
    drop(listener);
    drop(running_rx);
    let _ = stop_tx.send(true);
    running_tx.closed().await;
    pruner.abort();
    Ok(())
}

#[derive(Clone)]
struct Limits {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    per_ip: Arc<PerIp>,
}

/// Errors of one connection (a client that reset it) are not the listener's; running out of
/// file descriptors is, and waits a moment rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "could not accept a connection; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it ends, is idle for too long, or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    admitted: Admitted,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    _running: watch::Receiver<()>,
) {
    // Small writes go out at once. With Nagle's algorithm on, a WebSocket frame written while
    // the one before it is unacknowledged waits for that ACK, which a client delays by up to
    // 40 ms: a live alarm arrived 40 ms late now and then.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not turn Nagle's algorithm off on a connection");
    }
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked { inner: stream, activity: activity.clone(), _admitted: admitted });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(req)
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
    let mut closing = false;
    loop {
        let idle_deadline = activity.last() + limits.idle_timeout;
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            _ = stop.wait_for(|stop| *stop), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = tokio::time::sleep_until(idle_deadline), if !closing => {
                if activity.last() + limits.idle_timeout <= Instant::now() {
                    // Closes an idle connection now, a busy one after its answer.
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// When a connection last read or wrote anything, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { opened: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// The socket, noting activity, and holding its place in the per-address count for as long as
/// it is open (through a WebSocket upgrade too).
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
    _admitted: Admitted,
}

impl AsyncRead for Tracked {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Open connections per peer address.
struct PerIp {
    /// 0: no cap.
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection counted against its address until dropped.
struct Admitted {
    per_ip: Option<(Arc<PerIp>, IpAddr)>,
}

impl PerIp {
    /// A place for one more connection from `ip`, unless it has `max` open.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admitted> {
        if self.max == 0 {
            return Some(Admitted { per_ip: None });
        }
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Admitted { per_ip: Some((self.clone(), ip)) })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let Some((per_ip, ip)) = self.per_ip.take() else { return };
        let mut open = per_ip.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_open_connections_per_address() {
        let per_ip = Arc::new(PerIp { max: 2, open: Mutex::default() });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = per_ip.admit(a).unwrap();
        let _second = per_ip.admit(a).unwrap();
        assert!(per_ip.admit(a).is_none(), "a third from one address");
        assert!(per_ip.admit(b).is_some(), "other addresses are not affected");
        drop(first);
        assert!(per_ip.admit(a).is_some(), "a closed connection frees its place");
        let unlimited = Arc::new(PerIp { max: 0, open: Mutex::default() });
        let held: Vec<_> = (0..1000).map(|_| unlimited.admit(a).unwrap()).collect();
        assert_eq!((held.len(), unlimited.open.lock().unwrap().len()), (1000, 0));
    }
}
