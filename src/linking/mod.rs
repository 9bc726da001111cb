//! Account linking: which customer a directive's bearer token belongs to. One port, three
//! ways of answering it, chosen by `ACCOUNT_LINKING` ([`LinkingConfig`]):
//! - `table`: the token's SHA-256 is looked up in the tokens table, which the maker's own
//!   OAuth server writes when it issues a token;
//! - `jwt`: the token is a JWT access token, verified against the issuer's key set ([`jwt`],
//!   [`jwks`]): Amazon Cognito, Auth0 (with an audience), Okta custom servers, Keycloak;
//! - `userinfo`: the token is opaque, and the provider's userinfo endpoint says whose it is
//!   ([`userinfo`]): Okta's org server, Auth0 without an audience, Login with Amazon.
//!
//! Every directive and AcceptGrant's grantee token go through [`AccountLinking::customer`].
//! What Alexa hears is decided once, in `crate::error`: a token that is not valid is
//! `INVALID_AUTHORIZATION_CREDENTIAL`, an expired one `EXPIRED_AUTHORIZATION_CREDENTIAL`, and
//! an identity provider that cannot be asked is `INTERNAL_ERROR`, never a credential error,
//! so that a provider's bad minute does not unlink anybody.

pub mod jwks;
pub mod jwt;
pub mod userinfo;

pub use crate::config::linking::{JwksSource, JwtConfig, LinkingConfig, Mode, UserinfoConfig};

use crate::alexa::BearerToken;
use crate::clock::Clock;
use crate::deadline::Deadline;
use crate::http::{BodyError, Http};
use crate::ids::UserId;
use crate::metrics;
use crate::store::{StoreError, TokenHash, TokenStore};

/// The longest customer id accepted from a token or a provider: it becomes the partition key
/// of the customer's devices (DynamoDB allows 2,048 bytes).
pub const MAX_USER_ID_BYTES: usize = 1024;

/// How a token is resolved, built once at cold start.
#[derive(Debug)]
pub enum AccountLinking {
    Table,
    Jwt(jwt::JwtVerifier),
    Userinfo(userinfo::Userinfo),
}

impl AccountLinking {
    /// The resolution `config` asks for; the key set and userinfo calls go through `http`.
    /// Nothing is fetched here: the key set is fetched by the first directive that needs it.
    pub fn new(config: &LinkingConfig, http: Http) -> Result<Self, jwks::KeySetError> {
        Ok(match config {
            LinkingConfig::Table => Self::Table,
            LinkingConfig::Jwt(jwt) => Self::Jwt(jwt::JwtVerifier::new(jwt, http)?),
            LinkingConfig::Userinfo(userinfo) => {
                Self::Userinfo(userinfo::Userinfo::new(userinfo, http))
            }
        })
    }

    pub fn mode(&self) -> Mode {
        match self {
            Self::Table => Mode::Table,
            Self::Jwt(_) => Mode::Jwt,
            Self::Userinfo(_) => Mode::Userinfo,
        }
    }

    /// The device cloud's user id of the customer `token` belongs to, by `deadline`.
    pub async fn customer<S: TokenStore>(
        &self,
        store: &S,
        token: &BearerToken,
        clock: &Clock,
        deadline: &Deadline,
    ) -> Result<UserId, LinkingError> {
        let resolved = match self {
            Self::Table => from_table(store, token, clock, deadline).await,
            Self::Jwt(verifier) => verifier.customer(token, clock, deadline).await,
            Self::Userinfo(userinfo) => userinfo.customer(token, deadline).await,
        };
        if let Err(LinkingError::Unavailable(cause)) = &resolved {
            metrics::identity_provider_unavailable(self.mode().name(), cause.reason());
        }
        resolved
    }
}

/// `table`: one consistent read of the token's hash (a token issued a moment ago, as linking
/// is followed at once by AcceptGrant and Discover, must be found).
async fn from_table<S: TokenStore>(
    store: &S,
    token: &BearerToken,
    clock: &Clock,
    deadline: &Deadline,
) -> Result<UserId, LinkingError> {
    let record = deadline
        .bound(store.token(&TokenHash::of(token)))
        .await
        .map_err(|_| LinkingError::OutOfTime)??
        .ok_or(LinkingError::Invalid(Rejection::Unknown))?;
    if record.is_expired(clock.now()) {
        return Err(LinkingError::Expired);
    }
    Ok(record.user_id)
}

/// Why a token does not name a customer, or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum LinkingError {
    /// `INVALID_AUTHORIZATION_CREDENTIAL`: Alexa asks the customer to link again.
    #[error("the access token is not valid: {0}")]
    Invalid(Rejection),
    /// `EXPIRED_AUTHORIZATION_CREDENTIAL`: Alexa refreshes the token and retries. Only a
    /// token that is valid in every other way is called expired.
    #[error("the access token has expired")]
    Expired,
    /// `INTERNAL_ERROR`: the identity provider could not be asked (counted in
    /// `IdentityProviderUnavailable`). Not the customer's fault: their link stays.
    #[error("the identity provider could not be asked")]
    Unavailable(#[source] ProviderError),
    /// `INTERNAL_ERROR`: the tokens table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `INTERNAL_ERROR`: the tokens table did not answer before the directive's deadline.
    #[error("no answer from the tokens table before the directive's deadline")]
    OutOfTime,
}

/// What is wrong with a token. Never holds any part of it: these go to the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No such token (`table`), or the provider does not know it (`userinfo`).
    #[error("not known")]
    Unknown,
    #[error("not a well-formed JWT")]
    Malformed,
    /// An algorithm that is not configured (`none` and HMAC never are), or not the key's.
    #[error("algorithm not accepted")]
    Algorithm,
    /// No key of the issuer's set has the token's `kid`, even after a refetch.
    #[error("no key of the issuer has its kid")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("wrong client_id")]
    ClientId,
    /// A Cognito ID token (or any `token_use` but `access`).
    #[error("not an access token")]
    TokenUse,
    #[error("a required scope is missing")]
    Scope,
    #[error("not valid yet")]
    NotYetValid,
    /// The configured customer claim (or userinfo field) is missing, empty or too long.
    #[error("no customer id")]
    NoCustomer,
}

/// Why the identity provider could not be asked. Never holds what it answered: a userinfo
/// answer is personal data, and a key set is no business of the logs.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("no answer")]
    Network(#[source] reqwest::Error),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("unreadable answer")]
    Body(#[source] BodyError),
    #[error("answer not understood: {0}")]
    Unparsable(&'static str),
    /// The directive's deadline left no time for the request.
    #[error("no time left to ask")]
    OutOfTime,
    /// The key set could not be fetched moments ago; not asked again yet.
    #[error("the last fetch failed moments ago")]
    RecentlyFailed,
}

impl ProviderError {
    /// The metric's `Reason` dimension: a small fixed set.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Network(e) if e.is_timeout() => "timeout",
            Self::Body(e) if e.is_timeout() => "timeout",
            Self::Network(_) => "unreachable",
            Self::Status(s) if *s >= 500 => "status_5xx",
            Self::Status(_) => "status_other",
            Self::Body(_) | Self::Unparsable(_) => "unparsable",
            Self::OutOfTime => "out_of_time",
            Self::RecentlyFailed => "recently_failed",
        }
    }
}

/// A customer id as a claim or userinfo field holds it: a non-empty string of at most
/// [`MAX_USER_ID_BYTES`].
fn user_id(value: Option<&serde_json::Value>) -> Option<UserId> {
    value
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= MAX_USER_ID_BYTES)
        .map(UserId::from)
}

/// A GET to an identity provider with the bearer `token` (or none), taking at most `timeout`
/// of what `deadline` leaves, and its body read up to `limit`. Only 2xx answers come back as
/// `Ok`; the status of the others is for the caller to judge.
async fn get(
    http: &Http,
    url: &str,
    token: Option<&BearerToken>,
    timeout: std::time::Duration,
    deadline: &Deadline,
    limit: usize,
) -> Result<Answer, ProviderError> {
    // Nothing follows the answer but the directive's own work: no write reserve is kept.
    let timeout = deadline
        .timeout_for(timeout, std::time::Duration::ZERO)
        .map_err(|_| ProviderError::OutOfTime)?;
    let mut request = http
        .get()
        .get(url)
        .timeout(timeout)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token.expose());
    }
    let answer = request.send().await.map_err(ProviderError::Network)?;
    let status = answer.status().as_u16();
    let challenge = answer
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = crate::http::read_body(answer, limit)
        .await
        .map_err(ProviderError::Body)?;
    Ok(Answer {
        status,
        challenge,
        body,
    })
}

/// An identity provider's answer.
struct Answer {
    status: u16,
    /// `WWW-Authenticate`, which says why a bearer token was refused (RFC 6750).
    challenge: Option<String>,
    body: bytes::Bytes,
}
