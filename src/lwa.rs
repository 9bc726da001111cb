//! Login with Amazon: exchanging an AcceptGrant code for tokens, and refreshing them.

use serde::Deserialize;

use crate::alexa::Secret;
use crate::deadline::{Deadline, WRITE_RESERVE};
use crate::http::REQUEST_TIMEOUT;

/// An LWA token answer. Access tokens live an hour; a refresh may or may not return a new
/// refresh token (when it does not, the old one stays valid).
#[derive(Debug, Clone, Deserialize)]
pub struct LwaTokens {
    pub access_token: Secret,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default = "default_expires_in")]
    pub expires_in: u64,
}

fn default_expires_in() -> u64 {
    3600
}

/// LWA documents an hour; a longer lifetime than this from a broken or hostile answer is
/// not believed (and cannot overflow the clock).
const MAX_EXPIRES_IN_SECS: u64 = 24 * 3600;
/// The most of an answer that is read: LWA's token answers are under 2 KB.
pub const BODY_LIMIT: usize = 16 * 1024;

impl LwaTokens {
    /// When the access token expires, in Unix seconds.
    pub fn expires_at(&self, now: std::time::SystemTime) -> i64 {
        let lifetime = std::time::Duration::from_secs(self.expires_in.min(MAX_EXPIRES_IN_SECS));
        crate::store::unix_seconds(now + lifetime)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LwaError {
    #[error("LWA_CLIENT_ID and LWA_CLIENT_SECRET are not configured")]
    NotConfigured,
    /// The code or refresh token is no longer valid: for a refresh, the customer disabled the skill.
    #[error("Login with Amazon answered invalid_grant")]
    InvalidGrant,
    /// Any other OAuth error (`invalid_client` is a configuration error).
    #[error("Login with Amazon answered {error} (HTTP {status})")]
    OAuth { status: u16, error: String },
    #[error("no answer from Login with Amazon")]
    Network(#[source] reqwest::Error),
    /// The answer was larger than [`BODY_LIMIT`], or was cut off.
    #[error("unreadable answer from Login with Amazon (HTTP {status})")]
    Body {
        status: u16,
        #[source]
        source: crate::http::BodyError,
    },
    /// The caller's deadline left no time for the request.
    #[error("no time left to ask Login with Amazon")]
    OutOfTime,
    #[error("unexpected answer from Login with Amazon (HTTP {status})")]
    Unexpected { status: u16 },
}

impl LwaError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Network(_) | Self::OutOfTime)
            || matches!(self, Self::Body { source, .. } if source.is_timeout())
            || matches!(self, Self::Unexpected { status } | Self::OAuth { status, .. } if *status == 429 || *status >= 500)
    }
}

/// The LWA client, built once per process.
#[derive(Debug, Clone)]
pub struct Lwa {
    http: crate::http::Http,
    token_url: String,
    credentials: Option<(String, Secret)>,
}

impl Lwa {
    pub fn new(
        http: impl Into<crate::http::Http>,
        token_url: String,
        client_id: Option<String>,
        client_secret: Option<Secret>,
    ) -> Self {
        Self {
            http: http.into(),
            token_url,
            credentials: client_id.zip(client_secret),
        }
    }

    /// Login with Amazon as configured (token URL and the skill's client credentials).
    pub fn from_config(http: crate::http::Http, config: &crate::config::Config) -> Self {
        Self::new(
            http,
            config.lwa_token_url.clone(),
            config.lwa_client_id.clone(),
            config.lwa_client_secret.clone(),
        )
    }

    /// `grant_type=authorization_code`: the code of an AcceptGrant directive (valid minutes
    /// only), asked by `deadline` with time left to store the grant.
    pub async fn exchange_code(
        &self,
        code: &Secret,
        deadline: &Deadline,
    ) -> Result<LwaTokens, LwaError> {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code.expose()),
            ],
            deadline,
        )
        .await
    }

    /// `grant_type=refresh_token`, asked by `deadline` with time left to store the result.
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        deadline: &Deadline,
    ) -> Result<LwaTokens, LwaError> {
        self.token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ],
            deadline,
        )
        .await
    }

    async fn token(
        &self,
        grant: &[(&str, &str); 2],
        deadline: &Deadline,
    ) -> Result<LwaTokens, LwaError> {
        // What LWA answers must be written (a refresh token may rotate): the request ends in
        // time for that write, which nothing then cancels.
        let timeout = deadline
            .timeout_for(REQUEST_TIMEOUT, WRITE_RESERVE)
            .map_err(|_| LwaError::OutOfTime)?;
        let (client_id, client_secret) =
            self.credentials.as_ref().ok_or(LwaError::NotConfigured)?;
        let form = [
            grant[0],
            grant[1],
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose()),
        ];
        let answer = self
            .http
            .get()
            .post(&self.token_url)
            .timeout(timeout)
            .form(&form)
            .send()
            .await
            .map_err(LwaError::Network)?;
        let status = answer.status().as_u16();
        let body = crate::http::read_body(answer, BODY_LIMIT)
            .await
            .map_err(|source| LwaError::Body { status, source })?;
        if status == 200 {
            return serde_json::from_slice(&body).map_err(|_| LwaError::Unexpected { status });
        }
        #[derive(Deserialize)]
        struct OAuthError {
            error: String,
        }
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(e) if e.error == "invalid_grant" => Err(LwaError::InvalidGrant),
            Ok(e) => Err(LwaError::OAuth {
                status,
                error: e.error.chars().take(64).collect(),
            }),
            Err(_) => Err(LwaError::Unexpected { status }),
        }
    }
}
