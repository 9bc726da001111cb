//! Logging setup, once per process.

use tracing_subscriber::EnvFilter;

/// For the command-line tools: human-readable lines on stderr, `RUST_LOG` to filter
/// (default `warn`), so that stdout carries only the JSON a tool prints.
pub fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
