//! Configuration, read from the environment once at cold start.

/// Everything the Lambdas read from their environment. Every variable has a default that
/// suits a local run; `template.yaml` sets the table names in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DEVICES_TABLE`: the devices table (partition key `userId`, sort key `endpointId`).
    pub devices_table: String,
    /// `TOKENS_TABLE`: account-linking tokens by SHA-256 hash (partition key `tokenHash`).
    pub tokens_table: String,
    /// `DYNAMODB_ENDPOINT`: a DynamoDB-compatible server to use instead of AWS (local runs
    /// and tests), e.g. `http://127.0.0.1:8000`. Unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    /// `AWS_REGION`: only read here for the local server, which needs some region; in AWS the
    /// SDK reads it itself.
    pub local_region: String,
    /// `DEVICES_PAGE_SIZE`: items per devices Query page. Unset, DynamoDB's own 1 MB pages are
    /// used, which is what production wants; tests set it small to exercise pagination.
    pub devices_page_size: Option<i32>,
}

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

impl Config {
    pub const DEFAULT_DEVICES_TABLE: &str = "alexa-smart-home-devices";
    pub const DEFAULT_TOKENS_TABLE: &str = "alexa-smart-home-tokens";

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let devices_page_size = match get("DEVICES_PAGE_SIZE") {
            None => None,
            Some(v) => Some(
                v.parse::<i32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError {
                        name: "DEVICES_PAGE_SIZE",
                        reason: format!("{v:?} is not a positive integer"),
                    })?,
            ),
        };
        Ok(Self {
            devices_table: get("DEVICES_TABLE")
                .unwrap_or_else(|| Self::DEFAULT_DEVICES_TABLE.into()),
            tokens_table: get("TOKENS_TABLE").unwrap_or_else(|| Self::DEFAULT_TOKENS_TABLE.into()),
            dynamodb_endpoint: get("DYNAMODB_ENDPOINT"),
            local_region: get("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
            devices_page_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.devices_table, Config::DEFAULT_DEVICES_TABLE);
        assert_eq!(c.dynamodb_endpoint, None);
        assert_eq!(c.devices_page_size, None);
    }

    #[test]
    fn rejects_bad_page_size() {
        let err =
            Config::from_lookup(|n| (n == "DEVICES_PAGE_SIZE").then(|| "0".into())).unwrap_err();
        assert_eq!(err.name, "DEVICES_PAGE_SIZE");
    }
}
