//! The cold start every Lambda shares: logging, metrics, configuration, the DynamoDB store
//! and the HTTP client.

use crate::config::{Config, ConfigError};
use crate::http::ClientError;
use crate::store::dynamo::{self, DynamoStore};

/// What every Lambda builds once per process.
#[derive(Debug)]
pub struct Process {
    pub config: Config,
    pub store: DynamoStore,
    /// The AWS SDK's configuration, for the other AWS clients (IoT, DynamoDB Streams).
    pub sdk: aws_config::SdkConfig,
}

/// Why a Lambda cannot start. Lambda reports it as an init error, and the function's first
/// invocation fails with it: loudly, not with every directive answered wrong.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// Sets up logging (honouring `AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT` and `RUST_LOG`),
/// reads the configuration and builds the DynamoDB store, once per process. The Lambdas that
/// talk to Login with Amazon and the gateway build [`crate::http::Http`] next, with `?`.
pub async fn cold_start() -> Result<Process, StartError> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    crate::metrics::init(&config.metrics_namespace);
    let sdk = dynamo::sdk_config(&config).await?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config);
    Ok(Process { config, store, sdk })
}

/// Hands the memory freed by the invocation back to the system. glibc keeps freed pages of its
/// heap, and a stream batch allocates and frees megabytes of devices: without this the
/// process's resident memory crept from ~10 MB after the first 1,000-record batch to ~15 MB
/// after 200 (docs/benchmark-history.md), towards a 128 MB function's limit on a long-lived
/// instance. Elsewhere than glibc, nothing to do.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; no pointer is passed.
    unsafe {
        libc::malloc_trim(0);
    }
}
