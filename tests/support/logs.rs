//! Captures everything the code logs, at every level up to DEBUG, into memory.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static CAPTURED: OnceLock<Captured> = OnceLock::new();

/// Installs the capturing subscriber for the whole test process (once) and returns it.
/// Every target at DEBUG, the SDK's and the HTTP stack's included.
pub fn capture() -> Captured {
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            tracing_subscriber::fmt()
                .with_env_filter(EnvFilter::new("debug"))
                .with_writer(captured.clone())
                .with_ansi(false)
                .init();
            captured
        })
        .clone()
}
