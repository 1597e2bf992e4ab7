//! The virus scanner's client: clamd's `INSTREAM` command over TCP. The command is sent as
//! `zINSTREAM\0`, then the bytes in chunks, each after its length as four big-endian bytes,
//! then a chunk of length zero; clamd answers one line ending in `\0`: `stream: OK`,
//! `stream: <signature> FOUND`, or `... ERROR`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest chunk sent at once (clamd's `StreamMaxLength` bounds the whole, not chunks).
const CHUNK: usize = 64 * 1024;
/// The longest answer read.
const MAX_REPLY: usize = 4096;

/// What clamd found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// Infected, with the signature's name.
    Infected(String),
}

/// Why no verdict came.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("clamd at {address} could not be reached: {why}")]
    Unreachable { address: String, why: String },
    #[error("clamd did not answer within {0:?}")]
    TimedOut(Duration),
    /// clamd answered with an error (a stream over its size limit, a database problem) or
    /// something that is not an answer.
    #[error("clamd answered {0:?}")]
    Failed(String),
}

/// Scans `bytes` with the clamd at `address` (`host:port`), all within `timeout`.
pub async fn scan(address: &str, bytes: &[u8], timeout: Duration) -> Result<Verdict, ScanError> {
    match tokio::time::timeout(timeout, exchange(address, bytes)).await {
        Ok(result) => result,
        Err(_) => Err(ScanError::TimedOut(timeout)),
    }
}

async fn exchange(address: &str, bytes: &[u8]) -> Result<Verdict, ScanError> {
    let unreachable = |e: std::io::Error| ScanError::Unreachable { address: address.to_owned(), why: e.to_string() };
    let mut stream = TcpStream::connect(address).await.map_err(unreachable)?;
    stream.write_all(b"zINSTREAM\0").await.map_err(unreachable)?;
    for chunk in bytes.chunks(CHUNK) {
        // A chunk is at most CHUNK bytes, so its length fits four bytes.
        stream.write_all(&(chunk.len() as u32).to_be_bytes()).await.map_err(unreachable)?;
        stream.write_all(chunk).await.map_err(unreachable)?;
    }
    stream.write_all(&0u32.to_be_bytes()).await.map_err(unreachable)?;
    stream.flush().await.map_err(unreachable)?;
    let mut reply = Vec::new();
    let mut buffer = [0u8; 512];
    loop {
        let n = stream.read(&mut buffer).await.map_err(unreachable)?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buffer[..n]);
        if reply.contains(&0) || reply.len() > MAX_REPLY {
            break;
        }
    }
    verdict(&reply)
}

/// Reads clamd's answer to `INSTREAM`.
fn verdict(reply: &[u8]) -> Result<Verdict, ScanError> {
    let text = String::from_utf8_lossy(reply.split(|b| *b == 0).next().unwrap_or_default()).trim().to_owned();
    let body = text.strip_prefix("stream:").map(str::trim).unwrap_or(&text);
    if body == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(signature) = body.strip_suffix(" FOUND") {
        Ok(Verdict::Infected(signature.trim().to_owned()))
    } else {
        Err(ScanError::Failed(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        assert_eq!(verdict(b"stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            verdict(b"stream: Eicar-Test-Signature FOUND\0").unwrap(),
            Verdict::Infected("Eicar-Test-Signature".into())
        );
        assert!(matches!(verdict(b"INSTREAM size limit exceeded. ERROR\0"), Err(ScanError::Failed(_))));
        assert!(matches!(verdict(b""), Err(ScanError::Failed(_))));
    }

    #[tokio::test]
    async fn nobody_listening_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let err = scan(&address, b"hello", Duration::from_secs(2)).await.unwrap_err();
        assert!(matches!(err, ScanError::Unreachable { .. }), "{err}");
    }
}
