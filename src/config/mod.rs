//! Configuration, read from the environment once at cold start.

use std::time::Duration;

use crate::alexa::Secret;
use crate::device::Adapter;
use crate::gateway::GatewayRegion;
pub mod linking;

use linking::{Algorithm, JwksSource, JwtConfig, LinkingConfig, Mode, UserinfoConfig};

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
    /// `ALEXA_VIEW_TABLE`: what Alexa accepted of each customer's endpoints (partition key
    /// `userId`, sort key `endpointId`), for reconciliation.
    pub alexa_view_table: String,
    /// `RECONCILE_PAGE_SIZE` (100): customers read per page by the scheduled reconciliation.
    pub reconcile_page_size: usize,
    /// `RECONCILE_SEGMENTS` (8, at most 1,000): the parallel Scan segments a scheduled pass over
    /// the grants table is split into; each is worked by one invocation at a time, so this is
    /// also the most invocations a pass runs at once.
    pub reconcile_segments: u32,
    /// `RECONCILE_INTERVAL_MINUTES` (360): a pass starts at most this long after the previous
    /// one started, and only once that one is done.
    pub reconcile_interval: Duration,
    /// `METRICS_NAMESPACE` (`AlexaSmartHome`): the CloudWatch namespace of the embedded
    /// metrics; the template gives each stack its own.
    pub metrics_namespace: String,
    /// `DYNAMODB_ENDPOINT`: a DynamoDB-compatible server to use instead of AWS (local runs
    /// and tests), e.g. `http://127.0.0.1:8000`. Unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    /// `AWS_REGION` (set by Lambda; `us-east-1` when unset): the region the function runs in,
    /// which sets the default event gateway region and `HOME_REGION`.
    pub aws_region: String,
    /// `HOME_REGION`: the region of the tables and of the IoT things, which a region stack's
    /// skill reaches across regions (docs/deploying.md). Default: `AWS_REGION`.
    pub home_region: String,
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
    /// through this deployment get their events. Default: from `AWS_REGION`; in one of the
    /// three regions Alexa calls smart home skills in, it must be that region's.
    pub event_region: GatewayRegion,
    /// `EVENT_GATEWAY_URL`: send every event here instead of the region's gateway (local fakes).
    pub event_gateway_url: Option<String>,
    /// `EVENT_GATEWAY_URL_NA`, `_EU`, `_FE`: send the events of one region's customers here
    /// (local fakes of each regional gateway); before `EVENT_GATEWAY_URL`.
    pub regional_gateway_urls: Vec<(GatewayRegion, String)>,
    /// `STREAM_USER_CONCURRENCY`: customers whose changes are sent at the same time (16): with
    /// the gateway's ~50 ms per event, 100 customers' reports take ~0.6 s instead of ~1.3 s at 8.
    pub stream_concurrency: usize,
    /// `DEVICE_CLOUD` (`table`, `iot`, `https`; default `table`): where commands go, unless a
    /// device item's `deviceCloud` says otherwise (docs/commands.md).
    pub device_cloud: Adapter,
    /// `IOT_DATA_ENDPOINT`: the account's IoT data endpoint
    /// (`aws iot describe-endpoint --endpoint-type iot:Data-ATS`); locally, the moto server.
    pub iot_data_endpoint: Option<String>,
    /// `DEVICE_API_URL`: the maker's command API, for the `https` adapter.
    pub device_api_url: Option<String>,
    /// `DEVICE_API_SECRET`: the key its commands are signed with. Never logged.
    pub device_api_secret: Option<Secret>,
    /// `DEVICE_API_TIMEOUT_MS` (4000): how long the device cloud (the maker's API, AWS IoT)
    /// may take to take a command. Each command gets at most what the directive's deadline
    /// leaves ([`crate::deadline`]).
    pub device_api_timeout: Duration,
    /// `CONFIRM_WAIT_MS` (2500): how long the skill waits for a device that must confirm when
    /// the customer has no event grant (no asynchronous response can reach them). With
    /// `DEVICE_API_TIMEOUT_MS` it must fit in a directive's budget, [`Config::COMMAND_BUDGET`].
    pub confirm_wait: Duration,
    /// `ACCOUNT_LINKING` (`table`, `jwt`, `userinfo`; default `table`) and each mode's
    /// settings: how a bearer token is resolved to a customer (docs/account-linking.md).
    pub linking: LinkingConfig,
}

fn millis(value: Option<usize>, default: u64) -> Duration {
    Duration::from_millis(value.map_or(default, |v| v as u64))
}

/// `IDP_TIMEOUT_MS` may not exceed this: the identity provider is asked before the
/// directive's own work, which must still fit in Alexa's 8 s.
pub const MAX_IDP_TIMEOUT: Duration = Duration::from_millis(4000);
/// `TOKEN_LEEWAY_SECONDS` may not exceed this: more would accept tokens long expired.
pub const MAX_TOKEN_LEEWAY: Duration = Duration::from_secs(30);

type Number<'a> = &'a dyn Fn(&'static str) -> Result<Option<usize>, ConfigError>;

/// `ACCOUNT_LINKING` and the settings of the mode it names.
fn linking_config(
    get: &dyn Fn(&str) -> Option<String>,
    positive: Number<'_>,
    non_negative: Number<'_>,
) -> Result<LinkingConfig, ConfigError> {
    let error = |name: &'static str, reason: String| ConfigError { name, reason };
    let required = |name: &'static str, mode: &str| {
        get(name).ok_or_else(|| error(name, format!("ACCOUNT_LINKING={mode} needs it")))
    };
    let trusted = |name: &'static str, url: String| {
        if linking::is_trusted_url(&url) {
            Ok(url)
        } else {
            Err(error(
                name,
                format!("{url:?} is not an https URL (http only on a loopback address)"),
            ))
        }
    };
    let timeout = millis(positive("IDP_TIMEOUT_MS")?, 2000);
    if timeout > MAX_IDP_TIMEOUT {
        return Err(error(
            "IDP_TIMEOUT_MS",
            format!(
                "{} ms is more than {} ms: the directive's own work must still fit in Alexa's 8 s",
                timeout.as_millis(),
                MAX_IDP_TIMEOUT.as_millis()
            ),
        ));
    }
    let mode = match get("ACCOUNT_LINKING") {
        None => Mode::Table,
        Some(v) => v
            .parse()
            .map_err(|reason| error("ACCOUNT_LINKING", reason))?,
    };
    Ok(match mode {
        Mode::Table => LinkingConfig::Table,
        Mode::Jwt => {
            let issuer = required("TOKEN_ISSUER", "jwt")?;
            let algorithms = match get("TOKEN_ALGORITHMS") {
                None => vec![Algorithm::RS256, Algorithm::ES256],
                Some(list) => list
                    .split([',', ' '])
                    .filter(|a| !a.is_empty())
                    .map(|a| match a.parse::<Algorithm>() {
                        Ok(alg) if linking::is_asymmetric(alg) => Ok(alg),
                        Ok(_) => Err(error(
                            "TOKEN_ALGORITHMS",
                            format!("{a} is symmetric: a published key set cannot verify it"),
                        )),
                        Err(_) => Err(error(
                            "TOKEN_ALGORITHMS",
                            format!(
                                "{a:?} is not a signature algorithm (RS256, ES256, PS256, EdDSA, …)"
                            ),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            if algorithms.is_empty() {
                return Err(error("TOKEN_ALGORITHMS", "names no algorithm".into()));
            }
            let leeway =
                Duration::from_secs(non_negative("TOKEN_LEEWAY_SECONDS")?.map_or(30, |s| s as u64));
            if leeway > MAX_TOKEN_LEEWAY {
                return Err(error(
                    "TOKEN_LEEWAY_SECONDS",
                    format!("at most {} s", MAX_TOKEN_LEEWAY.as_secs()),
                ));
            }
            let key_set = match (get("JWKS_JSON"), get("JWKS_URL")) {
                (Some(_), Some(_)) => {
                    return Err(error(
                        "JWKS_JSON",
                        "set JWKS_JSON or JWKS_URL, not both".into(),
                    ));
                }
                (Some(json), None) => {
                    // Its keys are read when the verifier is built, at cold start: a set with
                    // no usable key fails it there, naming JWKS_JSON.
                    let set: serde_json::Value = serde_json::from_str(&json)
                        .map_err(|_| error("JWKS_JSON", "not JSON".into()))?;
                    if !set.get("keys").is_some_and(serde_json::Value::is_array) {
                        return Err(error("JWKS_JSON", "not a JSON Web Key Set".into()));
                    }
                    JwksSource::Inline(json)
                }
                (None, url) => JwksSource::Url(trusted(
                    "JWKS_URL",
                    url.unwrap_or_else(|| linking::default_jwks_url(&issuer)),
                )?),
            };
            LinkingConfig::Jwt(JwtConfig {
                audience: required("TOKEN_AUDIENCE", "jwt")?,
                issuer,
                algorithms,
                user_claim: get("TOKEN_USER_CLAIM").unwrap_or_else(|| "sub".into()),
                required_scopes: get("TOKEN_REQUIRED_SCOPES")
                    .map(|s| {
                        s.split([',', ' '])
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                leeway,
                key_set,
                refetch_interval: Duration::from_secs(
                    non_negative("JWKS_REFETCH_INTERVAL_SECONDS")?.map_or(60, |s| s as u64),
                ),
                timeout,
            })
        }
        Mode::Userinfo => LinkingConfig::Userinfo(UserinfoConfig {
            url: trusted("USERINFO_URL", required("USERINFO_URL", "userinfo")?)?,
            user_field: get("USERINFO_USER_FIELD").unwrap_or_else(|| "sub".into()),
            cache_ttl: Duration::from_secs(
                non_negative("USERINFO_CACHE_SECONDS")?.map_or(60, |s| s as u64),
            ),
            cache_entries: positive("USERINFO_CACHE_ENTRIES")?.unwrap_or(1000),
            timeout,
        }),
    })
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
    pub const DEFAULT_ALEXA_VIEW_TABLE: &str = "alexa-smart-home-alexa-view";
    pub const DEFAULT_LWA_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";
    /// More segments than this would be more invocations than a pass can use (a pass over a
    /// million customers needs a handful, docs/performance.md).
    pub const MAX_RECONCILE_SEGMENTS: u32 = 1000;
    /// What a directive has for sending a command and waiting for its confirmation: Alexa's
    /// 8 s, less the margin for answering and the reserve for the write that follows.
    pub const COMMAND_BUDGET: Duration = Duration::from_millis(
        crate::deadline::ALEXA_TIMEOUT.as_millis() as u64
            - crate::deadline::MARGIN.as_millis() as u64
            - crate::deadline::WRITE_RESERVE.as_millis() as u64,
    );

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
        let non_negative = |name: &'static str| -> Result<Option<usize>, ConfigError> {
            get(name)
                .map(|v| {
                    v.parse::<usize>().map_err(|_| ConfigError {
                        name,
                        reason: format!("{v:?} is not a whole number"),
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
        // Alexa sends a customer's directives, AcceptGrant included, to the Lambda of their
        // region: a grant recorded with another region's gateway would have every event
        // refused as if the skill were disabled.
        if let Some(alexa) = GatewayRegion::of_alexa_lambda(&aws_region)
            && alexa != event_region
        {
            return Err(ConfigError {
                name: "ALEXA_EVENT_REGION",
                reason: format!(
                    "{event_region} contradicts the function's region: Alexa calls {aws_region} \
                     for its {alexa} customers, whose events go to the {alexa} gateway"
                ),
            });
        }
        let regional_gateway_urls = GatewayRegion::ALL
            .into_iter()
            .filter_map(|r| Some((r, get(&format!("EVENT_GATEWAY_URL_{r}"))?)))
            .collect();
        let reconcile_segments = positive("RECONCILE_SEGMENTS")?.unwrap_or(8);
        if reconcile_segments > Self::MAX_RECONCILE_SEGMENTS as usize {
            return Err(ConfigError {
                name: "RECONCILE_SEGMENTS",
                reason: format!(
                    "{reconcile_segments} is more than {}",
                    Self::MAX_RECONCILE_SEGMENTS
                ),
            });
        }
        Ok(Self {
            devices_table: get("DEVICES_TABLE")
                .unwrap_or_else(|| Self::DEFAULT_DEVICES_TABLE.into()),
            tokens_table: get("TOKENS_TABLE").unwrap_or_else(|| Self::DEFAULT_TOKENS_TABLE.into()),
            grants_table: get("GRANTS_TABLE").unwrap_or_else(|| Self::DEFAULT_GRANTS_TABLE.into()),
            alexa_view_table: get("ALEXA_VIEW_TABLE")
                .unwrap_or_else(|| Self::DEFAULT_ALEXA_VIEW_TABLE.into()),
            reconcile_page_size: positive("RECONCILE_PAGE_SIZE")?.unwrap_or(100),
            reconcile_segments: reconcile_segments as u32,
            reconcile_interval: Duration::from_secs(
                60 * positive("RECONCILE_INTERVAL_MINUTES")?.unwrap_or(360) as u64,
            ),
            metrics_namespace: get("METRICS_NAMESPACE")
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.into()),
            dynamodb_endpoint: get("DYNAMODB_ENDPOINT"),
            home_region: get("HOME_REGION").unwrap_or_else(|| aws_region.clone()),
            aws_region,
            devices_page_size: positive("DEVICES_PAGE_SIZE")?
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            lwa_client_id: get("LWA_CLIENT_ID"),
            lwa_client_secret: get("LWA_CLIENT_SECRET").map(Secret::new),
            lwa_token_url: get("LWA_TOKEN_URL")
                .unwrap_or_else(|| Self::DEFAULT_LWA_TOKEN_URL.into()),
            event_region,
            event_gateway_url: get("EVENT_GATEWAY_URL"),
            regional_gateway_urls,
            stream_concurrency: positive("STREAM_USER_CONCURRENCY")?.unwrap_or(16),
            device_cloud: match get("DEVICE_CLOUD") {
                None => Adapter::Table,
                Some(v) => v.parse().map_err(|reason| ConfigError {
                    name: "DEVICE_CLOUD",
                    reason,
                })?,
            },
            iot_data_endpoint: get("IOT_DATA_ENDPOINT"),
            device_api_url: get("DEVICE_API_URL"),
            device_api_secret: get("DEVICE_API_SECRET").map(Secret::new),
            device_api_timeout: millis(positive("DEVICE_API_TIMEOUT_MS")?, 4000),
            confirm_wait: millis(non_negative("CONFIRM_WAIT_MS")?, 2500),
            linking: linking_config(&get, &positive, &non_negative)?,
        })
        .and_then(Self::checked)
    }

    /// Refuses a deployment whose default adapter lacks what it needs: better a failed cold
    /// start than every command answered with an error.
    fn checked(self) -> Result<Self, ConfigError> {
        if self.device_cloud == Adapter::Https {
            if self.device_api_url.is_none() {
                return Err(ConfigError {
                    name: "DEVICE_API_URL",
                    reason: "DEVICE_CLOUD=https needs the maker's API URL".into(),
                });
            }
            if self.device_api_secret.is_none() {
                return Err(ConfigError {
                    name: "DEVICE_API_SECRET",
                    reason: "DEVICE_CLOUD=https needs the signing secret".into(),
                });
            }
        }
        // A command is sent (up to the API timeout), then waited for (up to the confirm wait):
        // both in one directive, whose answer Alexa waits 8 s for.
        if self.device_api_timeout + self.confirm_wait > Self::COMMAND_BUDGET {
            return Err(ConfigError {
                name: "DEVICE_API_TIMEOUT_MS",
                reason: format!(
                    "DEVICE_API_TIMEOUT_MS ({} ms) and CONFIRM_WAIT_MS ({} ms) must together fit \
                     in {} ms: Alexa waits 8 s, the skill answers {} ms before, and keeps {} ms \
                     for the table write a command leads to",
                    self.device_api_timeout.as_millis(),
                    self.confirm_wait.as_millis(),
                    Self::COMMAND_BUDGET.as_millis(),
                    crate::deadline::MARGIN.as_millis(),
                    crate::deadline::WRITE_RESERVE.as_millis(),
                ),
            });
        }
        Ok(self)
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
        assert_eq!(c.device_cloud, Adapter::Table);
        assert_eq!(c.confirm_wait, Duration::from_millis(2500));
    }

    #[test]
    fn event_region_follows_the_lambda_region_unless_set() {
        let c = with(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(c.event_region, GatewayRegion::Europe);
        // Outside Alexa's three regions (a local run, a test), it may be chosen.
        let c = with(&[("AWS_REGION", "eu-central-1"), ("ALEXA_EVENT_REGION", "FE")]).unwrap();
        assert_eq!(c.event_region, GatewayRegion::FarEast);
    }

    #[test]
    fn the_event_region_of_an_alexa_region_is_its_own() {
        assert!(with(&[("AWS_REGION", "us-west-2"), ("ALEXA_EVENT_REGION", "FE")]).is_ok());
        let err = with(&[("AWS_REGION", "eu-west-1"), ("ALEXA_EVENT_REGION", "NA")]).unwrap_err();
        assert_eq!(err.name, "ALEXA_EVENT_REGION");
        assert!(err.reason.contains("eu-west-1"), "{}", err.reason);
    }

    #[test]
    fn a_region_stack_reaches_the_home_region() {
        let c = with(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(c.home_region, "eu-west-1");
        let c = with(&[("AWS_REGION", "eu-west-1"), ("HOME_REGION", "us-east-1")]).unwrap();
        assert_eq!(
            (c.aws_region.as_str(), c.home_region.as_str()),
            ("eu-west-1", "us-east-1")
        );
        assert_eq!(c.event_region, GatewayRegion::Europe);
    }

    #[test]
    fn each_regional_gateway_may_be_replaced() {
        let c = with(&[
            ("EVENT_GATEWAY_URL_EU", "http://127.0.0.1:1/eu"),
            ("EVENT_GATEWAY_URL", "http://127.0.0.1:2/all"),
        ])
        .unwrap();
        assert_eq!(
            c.regional_gateway_urls,
            [(GatewayRegion::Europe, "http://127.0.0.1:1/eu".to_owned())]
        );
    }

    #[test]
    fn reconcile_segments_are_bounded() {
        assert_eq!(with(&[]).unwrap().reconcile_segments, 8);
        assert_eq!(
            with(&[("RECONCILE_INTERVAL_MINUTES", "60")])
                .unwrap()
                .reconcile_interval,
            Duration::from_secs(3600)
        );
        assert_eq!(
            with(&[("RECONCILE_SEGMENTS", "1001")]).unwrap_err().name,
            "RECONCILE_SEGMENTS"
        );
        assert_eq!(
            with(&[("RECONCILE_SEGMENTS", "0")]).unwrap_err().name,
            "RECONCILE_SEGMENTS"
        );
    }

    #[test]
    fn rejects_bad_numbers_and_regions() {
        let err =
            Config::from_lookup(|n| (n == "DEVICES_PAGE_SIZE").then(|| "0".into())).unwrap_err();
        assert_eq!(err.name, "DEVICES_PAGE_SIZE");
        let err = Config::from_lookup(|n| (n == "ALEXA_EVENT_REGION").then(|| "MARS".into()))
            .unwrap_err();
        assert_eq!(err.name, "ALEXA_EVENT_REGION");
        let err =
            Config::from_lookup(|n| (n == "DEVICE_CLOUD").then(|| "mqtt".into())).unwrap_err();
        assert_eq!(err.name, "DEVICE_CLOUD");
    }

    #[test]
    fn a_command_and_its_confirmation_must_fit_in_alexas_8_s() {
        let with = |api: &str, wait: &str| {
            let (api, wait) = (api.to_owned(), wait.to_owned());
            Config::from_lookup(move |n| match n {
                "DEVICE_API_TIMEOUT_MS" => Some(api.clone()),
                "CONFIRM_WAIT_MS" => Some(wait.clone()),
                _ => None,
            })
        };
        assert_eq!(Config::COMMAND_BUDGET, Duration::from_millis(6500));
        assert!(with("4000", "2500").is_ok());
        assert!(with("6500", "0").is_ok());
        let err = with("4000", "5000").unwrap_err();
        assert_eq!(err.name, "DEVICE_API_TIMEOUT_MS");
        assert!(err.reason.contains("6500 ms"), "{}", err.reason);
        assert!(with("7000", "0").is_err());
    }

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }

    #[test]
    fn account_linking_is_the_tokens_table_unless_set() {
        assert_eq!(with(&[]).unwrap().linking, LinkingConfig::Table);
        let err = with(&[("ACCOUNT_LINKING", "saml")]).unwrap_err();
        assert_eq!(err.name, "ACCOUNT_LINKING");
    }

    #[test]
    fn jwt_needs_an_issuer_and_an_audience_and_has_defaults_for_the_rest() {
        let err = with(&[("ACCOUNT_LINKING", "jwt")]).unwrap_err();
        assert_eq!(err.name, "TOKEN_ISSUER");
        let err = with(&[
            ("ACCOUNT_LINKING", "jwt"),
            ("TOKEN_ISSUER", "https://i.example/"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "TOKEN_AUDIENCE");
        let c = with(&[
            ("ACCOUNT_LINKING", "jwt"),
            ("TOKEN_ISSUER", "https://tenant.auth0.com/"),
            ("TOKEN_AUDIENCE", "https://api.example"),
        ])
        .unwrap();
        let LinkingConfig::Jwt(jwt) = c.linking else {
            panic!("{:?}", c.linking)
        };
        assert_eq!(jwt.issuer, "https://tenant.auth0.com/");
        assert_eq!(
            jwt.key_set,
            JwksSource::Url("https://tenant.auth0.com/.well-known/jwks.json".into())
        );
        assert_eq!(jwt.algorithms, vec![Algorithm::RS256, Algorithm::ES256]);
        assert_eq!(jwt.user_claim, "sub");
        assert!(jwt.required_scopes.is_empty());
        assert_eq!(jwt.leeway, Duration::from_secs(30));
        assert_eq!(jwt.refetch_interval, Duration::from_secs(60));
        assert_eq!(jwt.timeout, Duration::from_millis(2000));
    }

    #[test]
    fn jwt_refuses_symmetric_algorithms_plain_http_and_a_long_leeway() {
        let jwt = |extra: &[(&str, &str)]| {
            let mut vars = vec![
                ("ACCOUNT_LINKING", "jwt"),
                ("TOKEN_ISSUER", "https://issuer.example"),
                ("TOKEN_AUDIENCE", "skill"),
            ];
            vars.extend_from_slice(extra);
            with(&vars)
        };
        for bad in ["HS256", "none", "RS256,HS512", ","] {
            let err = jwt(&[("TOKEN_ALGORITHMS", bad)]).unwrap_err();
            assert_eq!(err.name, "TOKEN_ALGORITHMS", "{bad}");
        }
        assert!(jwt(&[("TOKEN_ALGORITHMS", "PS256 EdDSA")]).is_ok());
        let err = jwt(&[("JWKS_URL", "http://issuer.example/jwks")]).unwrap_err();
        assert_eq!(err.name, "JWKS_URL");
        for local in [
            "http://127.0.0.1:8766/jwks",
            "http://localhost/jwks",
            "http://[::1]:1/k",
        ] {
            assert!(jwt(&[("JWKS_URL", local)]).is_ok(), "{local}");
        }
        let err = jwt(&[("TOKEN_LEEWAY_SECONDS", "31")]).unwrap_err();
        assert_eq!(err.name, "TOKEN_LEEWAY_SECONDS");
        let err = jwt(&[("IDP_TIMEOUT_MS", "5000")]).unwrap_err();
        assert_eq!(err.name, "IDP_TIMEOUT_MS");
        for not_a_set in ["not json", "{}", "{\"keys\": 3}"] {
            let err = jwt(&[("JWKS_JSON", not_a_set)]).unwrap_err();
            assert_eq!(err.name, "JWKS_JSON", "{not_a_set}");
        }
        let err = jwt(&[
            ("JWKS_JSON", "{\"keys\": []}"),
            ("JWKS_URL", "https://x.example/k"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "JWKS_JSON");
        let c = jwt(&[("TOKEN_REQUIRED_SCOPES", "devices, openid")]).unwrap();
        let LinkingConfig::Jwt(j) = c.linking else {
            unreachable!()
        };
        assert_eq!(j.required_scopes, vec!["devices", "openid"]);
    }

    #[test]
    fn userinfo_needs_an_https_url() {
        let err = with(&[("ACCOUNT_LINKING", "userinfo")]).unwrap_err();
        assert_eq!(err.name, "USERINFO_URL");
        let err = with(&[
            ("ACCOUNT_LINKING", "userinfo"),
            ("USERINFO_URL", "http://api.amazon.com/user/profile"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "USERINFO_URL");
        let c = with(&[
            ("ACCOUNT_LINKING", "userinfo"),
            ("USERINFO_URL", "https://api.amazon.com/user/profile"),
            ("USERINFO_USER_FIELD", "user_id"),
        ])
        .unwrap();
        let LinkingConfig::Userinfo(u) = c.linking else {
            panic!("{:?}", c.linking)
        };
        assert_eq!(u.user_field, "user_id");
        assert_eq!(u.cache_ttl, Duration::from_secs(60));
        assert_eq!(u.cache_entries, 1000);
    }

    #[test]
    fn the_https_adapter_needs_its_url_and_secret() {
        let err =
            Config::from_lookup(|n| (n == "DEVICE_CLOUD").then(|| "https".into())).unwrap_err();
        assert_eq!(err.name, "DEVICE_API_URL");
        let c = Config::from_lookup(|n| match n {
            "DEVICE_CLOUD" => Some("https".into()),
            "DEVICE_API_URL" => Some("https://maker.example/alexa".into()),
            "DEVICE_API_SECRET" => Some("s3cret".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.device_cloud, Adapter::Https);
        assert_eq!(c.device_api_timeout, Duration::from_millis(4000));
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
