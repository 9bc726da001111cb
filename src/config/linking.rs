//! The account-linking settings (`ACCOUNT_LINKING` and each mode's own), as the configuration
//! reads them from the environment; `crate::linking` is built from them.

use std::str::FromStr;
use std::time::Duration;

pub use jsonwebtoken::Algorithm;

/// `ACCOUNT_LINKING`: how a bearer token is resolved to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Table,
    Jwt,
    Userinfo,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Jwt => "jwt",
            Self::Userinfo => "userinfo",
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "table" => Ok(Self::Table),
            "jwt" => Ok(Self::Jwt),
            "userinfo" => Ok(Self::Userinfo),
            other => Err(format!("{other:?} is not table, jwt or userinfo")),
        }
    }
}

/// One mode and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkingConfig {
    /// The tokens table (`TOKENS_TABLE`), written by the maker's own OAuth server.
    Table,
    Jwt(JwtConfig),
    Userinfo(UserinfoConfig),
}

impl LinkingConfig {
    pub fn mode(&self) -> Mode {
        match self {
            Self::Table => Mode::Table,
            Self::Jwt(_) => Mode::Jwt,
            Self::Userinfo(_) => Mode::Userinfo,
        }
    }
}

/// `jwt`: what a JWT access token must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// `TOKEN_ISSUER`: `iss` must equal it exactly (Cognito:
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`; Auth0's ends with `/`).
    pub issuer: String,
    /// `TOKEN_AUDIENCE`: matched against `aud`, or, for a token without `aud` (Cognito access
    /// tokens), against `client_id` together with `token_use` = `access`.
    pub audience: String,
    /// `TOKEN_ALGORITHMS` (`RS256,ES256`): the signature algorithms accepted; asymmetric ones
    /// only (`none` and the HMAC family are refused when the configuration is read).
    pub algorithms: Vec<Algorithm>,
    /// `TOKEN_USER_CLAIM` (`sub`): the claim that holds the device cloud's user id.
    pub user_claim: String,
    /// `TOKEN_REQUIRED_SCOPES` (none): scopes every token must have (space or comma
    /// separated), read from `scope` (a space-separated string) or `scp` (Okta's list).
    pub required_scopes: Vec<String>,
    /// `TOKEN_LEEWAY_SECONDS` (30, at most 30): the clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Where the issuer's keys come from.
    pub key_set: JwksSource,
    /// `JWKS_REFETCH_INTERVAL_SECONDS` (60): after a refetch for an unknown `kid`, no other
    /// refetch for this long, so that a flood of made-up `kid`s cannot become a flood of
    /// fetches.
    pub refetch_interval: Duration,
    /// `IDP_TIMEOUT_MS` (2000): how long fetching the key set may take.
    pub timeout: Duration,
}

/// The issuer's JSON Web Key Set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// `JWKS_URL` (default `<TOKEN_ISSUER>/.well-known/jwks.json`): fetched by the first
    /// directive that needs it, kept for the life of the process, refetched for an unknown
    /// `kid`. `https`, or `http` on a loopback address.
    Url(String),
    /// `JWKS_JSON`: the set itself, in the configuration. No fetch, even on a cold start; a
    /// rotated key needs a redeploy.
    Inline(String),
}

/// `userinfo`: the provider's endpoint that says whose an opaque token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserinfoConfig {
    /// `USERINFO_URL`: OIDC's userinfo endpoint, or Login with Amazon's
    /// `https://api.amazon.com/user/profile`. `https`, or `http` on a loopback address.
    pub url: String,
    /// `USERINFO_USER_FIELD` (`sub`): the answer's field that holds the user id (`user_id` for
    /// Login with Amazon).
    pub user_field: String,
    /// `USERINFO_CACHE_SECONDS` (60): how long an answer is kept, and so how long a revoked
    /// token may still work.
    pub cache_ttl: Duration,
    /// `USERINFO_CACHE_ENTRIES` (1000): the most answers kept (the least recently used go).
    pub cache_entries: usize,
    /// `IDP_TIMEOUT_MS` (2000): how long the userinfo call may take.
    pub timeout: Duration,
}

/// The key set's URL when `JWKS_URL` is not set: OIDC's well-known place under the issuer.
pub fn default_jwks_url(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

/// Whether `url` may carry what the identity provider is sent (a bearer token) or send what
/// the skill trusts (keys): `https`, or `http` to this machine only (local stand-ins, tests).
pub fn is_trusted_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    match parsed.scheme() {
        "https" => true,
        "http" => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

/// Whether `alg` may be verified with a key of a published set: never an HMAC algorithm, whose
/// "key" would be public.
pub fn is_asymmetric(alg: Algorithm) -> bool {
    alg.family() != jsonwebtoken::AlgorithmFamily::Hmac
}
