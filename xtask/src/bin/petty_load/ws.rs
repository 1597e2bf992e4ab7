//! WebSocket subscribers to `/api/v1/ws`: signed in with the bearer header on the upgrade,
//! subscribed to one topic, with small buffers so that thousands fit in the load generator.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub(crate) type Socket = WebSocketStream<TcpStream>;

/// A frame from Petty, as far as the load generator cares.
#[derive(Deserialize)]
pub(crate) struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// `dropped` frames: how many events the server dropped for this client.
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub data: Option<EventData>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The part of an event's reading the load generator matches on.
#[derive(Deserialize)]
pub(crate) struct EventData {
    pub seq: Option<i64>,
}

/// Opens a socket, signs in with `token` on the upgrade and subscribes to `topic`; returns once
/// Petty has confirmed the subscription.
pub(crate) async fn subscribe(addr: SocketAddr, token: &str, topic: &str) -> anyhow::Result<Socket> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{addr}/api/v1/ws").into_client_request()?;
    request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {token}"))?);
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut socket, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .context("WebSocket upgrade")?;
    let command = format!(r#"{{"type":"subscribe","topic":"{topic}"}}"#);
    socket.send(Message::text(command)).await.context("send subscribe")?;
    let confirmed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message.context("read subscribe answer")? {
                let frame: Frame<'_> = serde_json::from_str(text.as_str()).context("frame is not JSON")?;
                match frame.kind.as_ref() {
                    "subscribed" => return Ok(()),
                    "error" => bail!("subscribe to {topic} refused: {}", frame.message.unwrap_or_default()),
                    _ => {}
                }
            }
        }
        bail!("the socket closed before the subscription was confirmed")
    })
    .await;
    confirmed.with_context(|| format!("no answer to subscribe {topic} within 30 s"))??;
    Ok(socket)
}
