//! The virus-scan hook: every upload is streamed to clamd (its INSTREAM command) while it is
//! stored, and accepted only when clamd finds nothing.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long clamd may take to answer a connection, a write or its verdict.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The most clamd's `StreamMaxLength` is assumed to take in one frame.
const FRAME: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("clamd is unreachable: {0}")]
    Unreachable(String),
    #[error("clamd did not answer as expected: {0}")]
    Protocol(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature clamd names.
    Infected(String),
}

/// One INSTREAM conversation with clamd.
pub struct Scan {
    stream: TcpStream,
}

fn unreachable(error: impl std::fmt::Display) -> ScanError {
    ScanError::Unreachable(error.to_string())
}

impl Scan {
    /// Connects to clamd at `address` (`host:port`) and starts a stream.
    pub async fn start(address: &str) -> Result<Self, ScanError> {
        let mut stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| unreachable("connection timed out"))?
            .map_err(unreachable)?;
        tokio::time::timeout(TIMEOUT, stream.write_all(b"zINSTREAM\0"))
            .await
            .map_err(|_| unreachable("write timed out"))?
            .map_err(unreachable)?;
        Ok(Self { stream })
    }

    /// Sends the next bytes of the file, in length-prefixed frames.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ScanError> {
        for frame in bytes.chunks(FRAME) {
            let length = u32::try_from(frame.len()).map_err(|e| ScanError::Protocol(e.to_string()))?;
            let write = async {
                self.stream.write_all(&length.to_be_bytes()).await?;
                self.stream.write_all(frame).await
            };
            tokio::time::timeout(TIMEOUT, write)
                .await
                .map_err(|_| unreachable("write timed out"))?
                .map_err(unreachable)?;
        }
        Ok(())
    }

    /// Ends the stream and reads clamd's verdict.
    pub async fn verdict(mut self) -> Result<Verdict, ScanError> {
        let exchange = async {
            self.stream.write_all(&0u32.to_be_bytes()).await?;
            let mut reply = Vec::new();
            let mut buffer = [0u8; 256];
            loop {
                let read = self.stream.read(&mut buffer).await?;
                if read == 0 {
                    break;
                }
                reply.extend_from_slice(&buffer[..read]);
                if reply.contains(&0) || reply.len() > 4096 {
                    break;
                }
            }
            Ok::<_, std::io::Error>(reply)
        };
        let reply = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable("no verdict in time"))?
            .map_err(unreachable)?;
        parse_reply(&reply)
    }
}

/// clamd answers `stream: OK`, `stream: <signature> FOUND`, or `<message> ERROR`.
fn parse_reply(reply: &[u8]) -> Result<Verdict, ScanError> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r', ' ']);
    let answer = text.strip_prefix("stream:").map(str::trim).unwrap_or(text);
    if answer == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(signature) = answer.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(signature.trim().to_owned()));
    }
    Err(ScanError::Protocol(answer.chars().take(200).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_as_clamd_writes_them() {
        assert_eq!(parse_reply(b"stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_reply(b"stream: Win.Test.EICAR_HDB-1 FOUND\0").unwrap(),
            Verdict::Infected("Win.Test.EICAR_HDB-1".to_owned())
        );
        assert!(parse_reply(b"INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(parse_reply(b"").is_err());
    }
}
