//! Configuration, read from the environment once at cold start.

use crate::alexa::Secret;
use crate::gateway::GatewayRegion;

/// Everything the Lambdas read from their environment. Every variable has a default that
/// suits a local run; `template.yaml` sets the rest in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DEVICES_TABLE`: the devices table (partition key `userId`, sort key `endpointId`).
    pub devices_table: String,
    /// `TOKENS_TABLE`: account-linking tokens by SHA-256 hash (partition key `tokenHash`).
    pub tokens_table: String,
    /// `GRANTS_TABLE`: each customer's Login with Amazon tokens (partition key `userId`).
    pub grants_table: String,
    /// `DYNAMODB_ENDPOINT`: a DynamoDB-compatible server to use instead of AWS (local runs
    /// and tests), e.g. `http://127.0.0.1:8000`. Unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    /// `AWS_REGION` (set by Lambda): the default event gateway region, and the region of a local
    /// server (`us-east-1` when unset).
    pub aws_region: String,
    /// `DEVICES_PAGE_SIZE`: items per devices Query page. Unset, DynamoDB's own 1 MB pages are
    /// used, which is what production wants; tests set it small to exercise pagination.
    pub devices_page_size: Option<i32>,
    /// `LWA_CLIENT_ID`: the skill's "Send Alexa Events" client id.
    pub lwa_client_id: Option<String>,
    /// `LWA_CLIENT_SECRET`: its secret. Never logged.
    pub lwa_client_secret: Option<Secret>,
    /// `LWA_TOKEN_URL`: Login with Amazon's token endpoint (a local fake in tests).
    pub lwa_token_url: String,
    /// `ALEXA_EVENT_REGION` (`NA`, `EU`, `FE`): where the customers who enable the skill
    /// through this deployment get their events. Default: from `AWS_REGION`.
    pub event_region: GatewayRegion,
    /// `EVENT_GATEWAY_URL`: send every event here instead of the region's gateway (local fakes).
    pub event_gateway_url: Option<String>,
    /// `STREAM_USER_CONCURRENCY`: customers whose changes are sent at the same time (16): with
    /// the gateway's ~50 ms per event, 100 customers' reports take ~0.6 s instead of ~1.3 s at 8.
    pub stream_concurrency: usize,
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
    pub const DEFAULT_GRANTS_TABLE: &str = "alexa-smart-home-grants";
    pub const DEFAULT_LWA_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let positive = |name: &'static str| -> Result<Option<usize>, ConfigError> {
            get(name)
                .map(|v| {
                    v.parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or(ConfigError {
                            name,
                            reason: format!("{v:?} is not a positive integer"),
                        })
                })
                .transpose()
        };
        let aws_region = get("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
        let event_region = match get("ALEXA_EVENT_REGION") {
            None => GatewayRegion::for_aws_region(&aws_region),
            Some(v) => v.parse().map_err(|reason| ConfigError {
                name: "ALEXA_EVENT_REGION",
                reason,
            })?,
        };
        Ok(Self {
            devices_table: get("DEVICES_TABLE")
                .unwrap_or_else(|| Self::DEFAULT_DEVICES_TABLE.into()),
            tokens_table: get("TOKENS_TABLE").unwrap_or_else(|| Self::DEFAULT_TOKENS_TABLE.into()),
            grants_table: get("GRANTS_TABLE").unwrap_or_else(|| Self::DEFAULT_GRANTS_TABLE.into()),
            dynamodb_endpoint: get("DYNAMODB_ENDPOINT"),
            aws_region,
            devices_page_size: positive("DEVICES_PAGE_SIZE")?
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            lwa_client_id: get("LWA_CLIENT_ID"),
            lwa_client_secret: get("LWA_CLIENT_SECRET").map(Secret::new),
            lwa_token_url: get("LWA_TOKEN_URL")
                .unwrap_or_else(|| Self::DEFAULT_LWA_TOKEN_URL.into()),
            event_region,
            event_gateway_url: get("EVENT_GATEWAY_URL"),
            stream_concurrency: positive("STREAM_USER_CONCURRENCY")?.unwrap_or(16),
        })
    }

    /// A configuration for a local DynamoDB-compatible server, with defaults for the rest.
    pub fn local(dynamodb_endpoint: &str) -> Self {
        let mut config =
            Self::from_lookup(|_| None).unwrap_or_else(|_| unreachable!("defaults are valid"));
        config.dynamodb_endpoint = Some(dynamodb_endpoint.to_owned());
        config
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
        assert_eq!(c.event_region, GatewayRegion::NorthAmerica);
        assert_eq!(c.stream_concurrency, 16);
    }

    #[test]
    fn event_region_follows_the_lambda_region_unless_set() {
        let c = Config::from_lookup(|n| (n == "AWS_REGION").then(|| "eu-west-1".into())).unwrap();
        assert_eq!(c.event_region, GatewayRegion::Europe);
        let c = Config::from_lookup(|n| match n {
            "AWS_REGION" => Some("eu-west-1".into()),
            "ALEXA_EVENT_REGION" => Some("FE".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.event_region, GatewayRegion::FarEast);
    }

    #[test]
    fn rejects_bad_numbers_and_regions() {
        let err =
            Config::from_lookup(|n| (n == "DEVICES_PAGE_SIZE").then(|| "0".into())).unwrap_err();
        assert_eq!(err.name, "DEVICES_PAGE_SIZE");
        let err = Config::from_lookup(|n| (n == "ALEXA_EVENT_REGION").then(|| "MARS".into()))
            .unwrap_err();
        assert_eq!(err.name, "ALEXA_EVENT_REGION");
    }
}
