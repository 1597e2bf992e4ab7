//! Keep-alive HTTP/1.1 to Petty over one TCP connection: requests written by hand, answers read
//! with `httparse` (no client library between the schedule and the socket). Also the setup every
//! scenario shares: a fresh account with its devices, and reading Prometheus counters.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer: status and body (headers are not kept).
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub(crate) fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| format!("answer {} is not JSON", self.status))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection. Requests go one at a time (no pipelining).
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    host: String,
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, buf: Vec::with_capacity(4096), host: addr.to_string() })
    }

    /// The bytes of one request.
    pub(crate) fn format(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<&[u8]>) -> Vec<u8> {
        let mut req = Vec::with_capacity(256 + body.map_or(0, <[u8]>::len));
        req.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host).as_bytes());
        if let Some(token) = bearer {
            req.extend_from_slice(format!("Authorization: Bearer {token}\r\n").as_bytes());
        }
        if let Some(b) = body {
            req.extend_from_slice(
                format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n", b.len()).as_bytes(),
            );
            req.extend_from_slice(b);
        } else {
            req.extend_from_slice(b"\r\n");
        }
        req
    }

    pub(crate) async fn send(&mut self, request: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(request).await.context("write request")
    }

    /// Reads one complete answer (Content-Length or chunked body).
    pub(crate) async fn read_response(&mut self) -> anyhow::Result<Response> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf).context("malformed HTTP answer")? {
                httparse::Status::Complete(head_len) => {
                    let status = parsed.code.context("HTTP answer without a status")?;
                    let mut length = None;
                    let mut chunked = false;
                    for h in parsed.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let v = std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<usize>().ok());
                            length = Some(v.context("bad Content-Length")?);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = String::from_utf8_lossy(h.value).to_ascii_lowercase().contains("chunked");
                        }
                    }
                    let body = if chunked {
                        self.read_chunked(head_len).await?
                    } else {
                        let end = head_len + length.unwrap_or(0);
                        while self.buf.len() < end {
                            self.fill().await?;
                        }
                        let body = self.buf[head_len..end].to_vec();
                        self.buf.drain(..end);
                        body
                    };
                    return Ok(Response { status, body });
                }
                httparse::Status::Partial => self.fill().await?,
            }
        }
    }

    async fn read_chunked(&mut self, head_len: usize) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut at = head_len;
        loop {
            let line_end = loop {
                if let Some(p) = self.buf[at..].windows(2).position(|w| w == b"\r\n") {
                    break at + p;
                }
                self.fill().await?;
            };
            let size_text = String::from_utf8_lossy(&self.buf[at..line_end]).into_owned();
            let size_hex = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).with_context(|| format!("bad chunk size {size_text:?}"))?;
            let data_end = line_end + 2 + size + 2;
            while self.buf.len() < data_end {
                self.fill().await?;
            }
            if size == 0 {
                self.buf.drain(..data_end);
                return Ok(body);
            }
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            at = data_end;
        }
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        self.buf.reserve(4096);
        let n = self.stream.read_buf(&mut self.buf).await.context("read answer")?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }

    pub(crate) async fn request(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Response> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let req = self.format(method, path, bearer, body.as_deref());
        self.send(&req).await?;
        self.read_response().await
    }
}

/// A device and its `dk_` token.
#[derive(Clone)]
pub(crate) struct Device {
    pub id: String,
    pub token: String,
}

/// A fresh account (its own household) with devices.
pub(crate) struct Household {
    pub access_token: String,
    pub household_id: String,
    pub devices: Vec<Device>,
}

fn field(v: &Value, path: &[&str]) -> anyhow::Result<String> {
    let mut at = v;
    for key in path {
        at = at.get(key).with_context(|| format!("answer has no {}: {v}", path.join(".")))?;
    }
    at.as_str().map(str::to_owned).with_context(|| format!("{} is not a string: {v}", path.join(".")))
}

/// Registers a new user (a new household) and creates `devices` collars, over up to 8
/// connections at once. Each device token is shown once, in the creation answer.
pub(crate) async fn household(addr: SocketAddr, devices: usize) -> anyhow::Result<Household> {
    let mut conn = Conn::connect(addr).await?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let email = format!("load-{}-{stamp}@bench.petty.local", std::process::id());
    let body = json!({"email": email, "password": "petty-load-password-7", "display_name": "petty-load"});
    let answer = conn.request("POST", "/api/v1/auth/register", None, Some(&body)).await?;
    if answer.status != 202 {
        bail!("register answered {}: {}", answer.status, answer.text());
    }
    // Registration hands out no tokens (a taken address answers the same): sign in.
    let credentials = json!({"email": email, "password": "petty-load-password-7"});
    let answer = conn.request("POST", "/api/v1/auth/login", None, Some(&credentials)).await?;
    if answer.status != 200 {
        bail!("sign-in answered {}: {}", answer.status, answer.text());
    }
    let session = answer.json()?;
    let access_token = field(&session, &["access_token"])?;
    let household_id = field(&session, &["membership", "household_id"])?;

    let workers = devices.clamp(1, 8);
    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let token = access_token.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await?;
            let mut made = Vec::new();
            for i in (w..devices).step_by(workers) {
                let body = json!({"name": format!("load-{i:05}"), "kind": "collar", "expected_interval_secs": 60});
                let answer = conn.request("POST", "/api/v1/devices", Some(&token), Some(&body)).await?;
                if answer.status != 201 {
                    bail!("creating device {i} answered {}: {}", answer.status, answer.text());
                }
                let v = answer.json()?;
                made.push((i, Device { id: field(&v, &["device", "id"])?, token: field(&v, &["token"])? }));
            }
            anyhow::Ok(made)
        }));
    }
    let mut all = Vec::with_capacity(devices);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(Household { access_token, household_id, devices: all.into_iter().map(|(_, d)| d).collect() })
}

/// The value of one Prometheus series (`name{labels}` exactly as rendered), 0 when absent.
pub(crate) async fn metric(conn: &mut Conn, series: &str) -> anyhow::Result<f64> {
    let answer = conn.request("GET", "/metrics", None, None).await?;
    if answer.status != 200 {
        bail!("/metrics answered {}", answer.status);
    }
    Ok(series_value(&answer.text(), series).unwrap_or(0.0))
}

pub(crate) fn series_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

pub(crate) fn epoch_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
