//! The cold start every Lambda shares: logging, metrics, configuration, the DynamoDB store.

use crate::config::{Config, ConfigError};
use crate::store::dynamo::{self, DynamoStore};

/// Sets up logging (honouring `AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT` and `RUST_LOG`),
/// reads the configuration and builds the DynamoDB store, once per process. The AWS SDK's
/// configuration is returned too, for the other clients (IoT) to share.
pub async fn cold_start() -> Result<(Config, DynamoStore, aws_config::SdkConfig), ConfigError> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    crate::metrics::init(&config.metrics_namespace);
    let sdk = dynamo::sdk_config(&config).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config);
    Ok((config, store, sdk))
}

/// Hands the memory freed by the invocation back to the system. glibc keeps freed pages of its
/// heap, and a stream batch allocates and frees megabytes of devices: without this the
/// process's resident memory crept from ~10 MB after the first 1,000-record batch to ~15 MB
/// after 200 (README, Performance), towards a 128 MB function's limit on a long-lived
/// instance. Elsewhere than glibc, nothing to do.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; no pointer is passed.
    unsafe {
        libc::malloc_trim(0);
    }
}
