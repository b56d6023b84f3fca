//! The command's standard streams: arguments written in, stdout and stderr pumped out on
//! their own threads.
//!
//! Each stream gets a thread so a child blocked on one full pipe can never deadlock against
//! us waiting on another. Pumps forward chunks to the supervisor rather than collecting
//! them, so the supervisor can count bytes as they arrive and stop a flood at the cap, and
//! can give up on a pipe an escaped process still holds without losing what was read.

use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc::Sender;

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stream {
    Stdout,
    Stderr,
}

/// What the helper threads tell the supervisor.
#[derive(Debug)]
pub(super) enum Event {
    /// Bytes read from a stream.
    Data(Stream, Vec<u8>),
    /// The stream reached end of file (every writer closed it) or failed.
    Closed,
    /// The child exited (it is not reaped yet).
    Exited,
}

const CHUNK: usize = 64 * 1024;

/// Forwards everything read from `from` to `to`, then reports the stream closed.
pub(super) fn pump(mut from: impl Read, stream: Stream, to: &Sender<Event>) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // The supervisor hung up: nobody wants the rest.
                if to.send(Event::Data(stream, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = to.send(Event::Closed);
}

/// Writes `input` to the child's stdin and closes it.
///
/// A child that exits or closes stdin without reading it all is not an error here: whether
/// it succeeded is judged by its exit and output. The write then fails with `EPIPE` rather
/// than raising SIGPIPE because the Rust runtime ignores SIGPIPE in its programs.
pub(super) fn feed(mut into: impl Write, input: &[u8]) {
    let _ = into.write_all(input);
}

/// The last bytes of a stream, kept for error messages and failure heuristics.
#[derive(Debug, Default)]
pub(super) struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    /// How many trailing bytes are kept.
    pub(super) const KEEP: usize = 4096;

    pub(super) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trim in batches so a chatty stream costs amortized O(1) per byte.
        if self.bytes.len() > 2 * Self::KEEP {
            let cut = self.bytes.len() - Self::KEEP;
            self.bytes.drain(..cut);
        }
    }

    /// The kept text, lossily decoded and trimmed; empty when nothing was written.
    pub(super) fn text(&self) -> String {
        let start = self.bytes.len().saturating_sub(Self::KEEP);
        String::from_utf8_lossy(&self.bytes[start..])
            .trim()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        let mut tail = Tail::default();
        for i in 0..10_000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        let text = tail.text();
        assert!(text.ends_with("line 9999"));
        assert!(text.len() <= Tail::KEEP);
        assert!(!text.contains("line 1\n"));
        assert_eq!(Tail::default().text(), "");
    }

    #[test]
    fn pump_forwards_then_closes() {
        let (tx, rx) = mpsc::channel();
        pump(&b"hello"[..], Stream::Stderr, &tx);
        drop(tx);
        let events: Vec<Event> = rx.iter().collect();
        assert!(matches!(&events[0], Event::Data(Stream::Stderr, d) if d == b"hello"));
        assert!(matches!(events[1], Event::Closed));
        assert_eq!(events.len(), 2);
    }
}
