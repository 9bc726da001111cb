//! The Alexa event gateway: where proactive events (`AddOrUpdateReport`, `DeleteReport`,
//! `ChangeReport`) are POSTed, and what its answers mean.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::alexa::BearerToken;

/// The gateway a customer's events go to: the region of the Lambda that received their
/// AcceptGrant. The wrong one answers 403 as if the skill were disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GatewayRegion {
    #[serde(rename = "NA")]
    NorthAmerica,
    #[serde(rename = "EU")]
    Europe,
    #[serde(rename = "FE")]
    FarEast,
}

impl GatewayRegion {
    pub const ALL: [Self; 3] = [Self::NorthAmerica, Self::Europe, Self::FarEast];

    /// The AWS region Alexa invokes smart home Lambdas in for this region's customers.
    pub fn alexa_lambda_region(self) -> &'static str {
        match self {
            Self::NorthAmerica => "us-east-1",
            Self::Europe => "eu-west-1",
            Self::FarEast => "us-west-2",
        }
    }

    /// The Alexa region whose customers' directives a Lambda in `aws_region` receives;
    /// `None` outside the three regions Alexa calls.
    pub fn of_alexa_lambda(aws_region: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.alexa_lambda_region() == aws_region)
    }

    /// Alexa invokes smart home Lambdas in us-east-1 (North America), eu-west-1 (Europe and
    /// India) and us-west-2 (Far East and Australia); other regions go by continent.
    pub fn for_aws_region(region: &str) -> Self {
        match region {
            "us-west-2" => Self::FarEast,
            r if r.starts_with("ap-") => Self::FarEast,
            r if ["eu-", "me-", "af-", "il-"]
                .iter()
                .any(|p| r.starts_with(p)) =>
            {
                Self::Europe
            }
            _ => Self::NorthAmerica,
        }
    }

    pub fn url(self) -> &'static str {
        match self {
            Self::NorthAmerica => "https://api.amazonalexa.com/v3/events",
            Self::Europe => "https://api.eu.amazonalexa.com/v3/events",
            Self::FarEast => "https://api.fe.amazonalexa.com/v3/events",
        }
    }
}

impl FromStr for GatewayRegion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "NA" => Ok(Self::NorthAmerica),
            "EU" => Ok(Self::Europe),
            "FE" => Ok(Self::FarEast),
            other => Err(format!("{other:?} is not one of NA, EU, FE")),
        }
    }
}

impl fmt::Display for GatewayRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NorthAmerica => "NA",
            Self::Europe => "EU",
            Self::FarEast => "FE",
        })
    }
}

/// Why the gateway did not accept an event, classified as its documented error codes say
/// (matched on `payload.code` first, the HTTP status second).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// 400: the event is wrong; resending it unchanged cannot help.
    #[error("invalid request ({status} {code}): {description}")]
    InvalidRequest {
        status: u16,
        code: String,
        description: String,
    },
    /// 401: the LWA access token is not valid (any more).
    #[error("access token not accepted (401 {code})")]
    InvalidAccessToken { code: String },
    /// 403 SKILL_DISABLED / SKILL_NEVER_ENABLED: the customer disabled the skill, or the
    /// region is wrong.
    #[error("skill disabled for this customer ({status} {code})")]
    SkillDisabled { status: u16, code: String },
    /// 403 INSUFFICIENT_PERMISSION: the skill lacks the "Send Alexa Events" permission.
    #[error("skill lacks the permission to send events ({status} {code})")]
    InsufficientPermission { status: u16, code: String },
    /// 404: the token belongs to another stage of the skill.
    #[error("skill not found ({status} {code})")]
    SkillNotFound { status: u16, code: String },
    /// 413: too many endpoints or bytes in one event.
    #[error("event too large ({status} {code})")]
    TooLarge { status: u16, code: String },
    /// 429: throttled; resend later.
    #[error("throttled ({status} {code})")]
    Throttled { status: u16, code: String },
    /// 500 / 503 and other server errors; resend later.
    #[error("gateway unavailable ({status} {code})")]
    Unavailable { status: u16, code: String },
    /// No answer: connection refused or reset, timeout.
    #[error("no answer from the gateway")]
    Network(#[source] reqwest::Error),
    /// Any other answer.
    #[error("unexpected answer ({status} {code}): {description}")]
    Unexpected {
        status: u16,
        code: String,
        description: String,
    },
}

impl GatewayError {
    /// The HTTP status of the answer; `None` when there was none.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::InvalidAccessToken { .. } => Some(401),
            Self::Network(_) => None,
            Self::InvalidRequest { status, .. }
            | Self::SkillDisabled { status, .. }
            | Self::InsufficientPermission { status, .. }
            | Self::SkillNotFound { status, .. }
            | Self::TooLarge { status, .. }
            | Self::Throttled { status, .. }
            | Self::Unavailable { status, .. }
            | Self::Unexpected { status, .. } => Some(*status),
        }
    }

    /// Whether the same event may be accepted if sent again a little later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Unavailable { .. } | Self::Network(_)
        )
    }

    /// Classifies a non-202 answer from its status and (maybe not JSON) body.
    pub fn from_answer(status: u16, body: &[u8]) -> Self {
        #[derive(Deserialize, Default)]
        struct Body {
            #[serde(default)]
            payload: Payload,
        }
        #[derive(Deserialize, Default)]
        struct Payload {
            #[serde(default)]
            code: String,
            #[serde(default)]
            description: String,
        }
        let parsed: Body = serde_json::from_slice(body).unwrap_or_default();
        let code = truncate(&parsed.payload.code, 64);
        let description = if parsed.payload.description.is_empty() {
            // Not the documented JSON (a proxy's HTML page, say): keep a little of it for the log.
            truncate(&String::from_utf8_lossy(body), 200)
        } else {
            truncate(&parsed.payload.description, 500)
        };
        match (code.as_str(), status) {
            ("INVALID_REQUEST_EXCEPTION", _) | ("", 400) => Self::InvalidRequest {
                status,
                code,
                description,
            },
            ("INVALID_ACCESS_TOKEN_EXCEPTION", _) | ("", 401) => Self::InvalidAccessToken { code },
            ("SKILL_DISABLED_EXCEPTION" | "SKILL_NEVER_ENABLED_EXCEPTION", _) | ("", 403) => {
                Self::SkillDisabled { status, code }
            }
            ("INSUFFICIENT_PERMISSION_EXCEPTION", _) => {
                Self::InsufficientPermission { status, code }
            }
            ("SKILL_NOT_FOUND_EXCEPTION", _) | ("", 404) => Self::SkillNotFound { status, code },
            ("REQUEST_ENTITY_TOO_LARGE_EXCEPTION", _) | ("", 413) => {
                Self::TooLarge { status, code }
            }
            ("THROTTLING_EXCEPTION", _) | ("", 429) => Self::Throttled { status, code },
            ("INTERNAL_SERVICE_EXCEPTION" | "SERVICE_UNAVAILABLE_EXCEPTION", _) => {
                Self::Unavailable { status, code }
            }
            (_, 500..=599) => Self::Unavailable { status, code },
            _ => Self::Unexpected {
                status,
                code,
                description,
            },
        }
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// The most of an error answer that is read.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

/// Posts events to the gateway. One per process; the HTTP client inside carries the timeouts.
#[derive(Debug, Clone)]
pub struct Gateway {
    http: crate::http::Http,
    url_override: Option<String>,
    regional_overrides: Vec<(GatewayRegion, String)>,
}

impl Gateway {
    pub fn new(http: impl Into<crate::http::Http>, url_override: Option<String>) -> Self {
        Self {
            http: http.into(),
            url_override,
            regional_overrides: Vec::new(),
        }
    }

    /// The same gateway with the events of some regions' customers posted elsewhere (local
    /// fakes of each regional gateway, `EVENT_GATEWAY_URL_NA` and the like).
    pub fn with_regional_urls(mut self, urls: Vec<(GatewayRegion, String)>) -> Self {
        self.regional_overrides = urls;
        self
    }

    /// Where the events of `region`'s customers are posted.
    pub fn url(&self, region: GatewayRegion) -> &str {
        self.regional_overrides
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, url)| url.as_str())
            .or(self.url_override.as_deref())
            .unwrap_or(region.url())
    }

    /// Posts one serialized event, giving up after `timeout` (at most the client's
    /// [`crate::http::REQUEST_TIMEOUT`]). `Ok` only for 202 (accepted).
    pub async fn send(
        &self,
        region: GatewayRegion,
        access_token: &BearerToken,
        body: Vec<u8>,
        timeout: std::time::Duration,
    ) -> Result<(), GatewayError> {
        let url = self.url(region);
        let answer = self
            .http
            .get()
            .post(url)
            .timeout(timeout)
            .bearer_auth(access_token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(GatewayError::Network)?;
        let status = answer.status().as_u16();
        if status == 202 {
            return Ok(());
        }
        // Only the error's code and description are read from it; more is not the gateway.
        let body = crate::http::read_body(answer, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        Err(GatewayError::from_answer(status, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> Vec<u8> {
        serde_json::json!({"header": {"namespace": "System", "name": "Exception"},
            "payload": {"code": code, "description": "d"}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_code_wins_over_the_status() {
        assert!(matches!(
            GatewayError::from_answer(400, &body("SKILL_DISABLED_EXCEPTION")),
            GatewayError::SkillDisabled { .. }
        ));
        assert!(matches!(
            GatewayError::from_answer(403, &body("INSUFFICIENT_PERMISSION_EXCEPTION")),
            GatewayError::InsufficientPermission { .. }
        ));
    }

    #[test]
    fn the_status_classifies_bodies_that_are_not_json() {
        let html = b"<html>Bad Gateway</html>";
        assert!(matches!(
            GatewayError::from_answer(502, html),
            GatewayError::Unavailable { .. }
        ));
        assert!(matches!(
            GatewayError::from_answer(429, html),
            GatewayError::Throttled { .. }
        ));
        let GatewayError::InvalidRequest { description, .. } = GatewayError::from_answer(400, html)
        else {
            panic!()
        };
        assert!(description.contains("Bad Gateway"));
        assert!(matches!(
            GatewayError::from_answer(418, b""),
            GatewayError::Unexpected { .. }
        ));
    }

    #[test]
    fn retryable_answers() {
        assert!(
            GatewayError::from_answer(503, &body("SERVICE_UNAVAILABLE_EXCEPTION")).is_retryable()
        );
        assert!(GatewayError::from_answer(500, &body("INTERNAL_SERVICE_EXCEPTION")).is_retryable());
        assert!(!GatewayError::from_answer(400, &body("INVALID_REQUEST_EXCEPTION")).is_retryable());
        assert!(
            !GatewayError::from_answer(401, &body("INVALID_ACCESS_TOKEN_EXCEPTION")).is_retryable()
        );
    }

    #[test]
    fn regions() {
        assert_eq!(
            GatewayRegion::for_aws_region("us-east-1"),
            GatewayRegion::NorthAmerica
        );
        assert_eq!(
            GatewayRegion::for_aws_region("eu-west-1"),
            GatewayRegion::Europe
        );
        assert_eq!(
            GatewayRegion::for_aws_region("us-west-2"),
            GatewayRegion::FarEast
        );
        assert_eq!(
            GatewayRegion::for_aws_region("ap-southeast-2"),
            GatewayRegion::FarEast
        );
        assert_eq!("EU".parse::<GatewayRegion>(), Ok(GatewayRegion::Europe));
        for r in GatewayRegion::ALL {
            assert_eq!(
                GatewayRegion::of_alexa_lambda(r.alexa_lambda_region()),
                Some(r)
            );
            assert_eq!(GatewayRegion::for_aws_region(r.alexa_lambda_region()), r);
        }
        assert_eq!(GatewayRegion::of_alexa_lambda("eu-central-1"), None);
    }
}
