//! The cold start both Lambdas share: logging, configuration, the DynamoDB store.

use crate::config::{Config, ConfigError};
use crate::store::dynamo::{self, DynamoStore};

/// Sets up logging (honouring `AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT` and `RUST_LOG`),
/// reads the configuration and builds the DynamoDB store, once per process.
pub async fn cold_start() -> Result<(Config, DynamoStore), ConfigError> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let store = DynamoStore::new(dynamo::client(&config).await, &config);
    Ok((config, store))
}
