//! Captures everything the code logs, at every level up to DEBUG, into memory: what one test
//! logs, on its own thread (tokio's current-thread runtime runs the test's tasks there), so
//! that tests running side by side in the one test binary do not read each other's lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What the test has logged so far; capturing stops when this is dropped.
pub struct Captured {
    buffer: Buffer,
    _guard: DefaultGuard,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().unwrap()).into_owned()
    }
}

/// Captures this thread's logs until the returned value is dropped. Every target at DEBUG,
/// the SDK's and the HTTP stack's included.
pub fn capture() -> Captured {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("debug"))
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    Captured {
        buffer,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}
