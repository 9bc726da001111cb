//! The process's HTTP: one TLS configuration for everything it talks to (DynamoDB through the
//! AWS SDK, Login with Amazon, the event gateway, the maker's API), the client of Login with
//! Amazon and the gateway, and bounded reads of what peers answer.
//!
//! The trust anchors are Mozilla's, compiled in (`webpki-roots`), not the system's CA bundle:
//! loading and parsing that bundle (and, on Debian, a directory of ~150 certificate files) cost
//! a cold start a millisecond or more, and it was done twice, once by the SDK's connector and
//! once by reqwest. The three peers are Amazon's, with roots in Mozilla's list; a new root
//! arrives with a `webpki-roots` update.

pub mod sdk;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Connection attempts give up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A whole request (connect, send, answer) gives up after this long: a slow peer must not eat
/// the Lambda's time (Alexa waits 8 s for AcceptGrant; a stream batch must finish its retries
/// within the function's timeout).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The one TLS configuration, built at its first use and shared by every client.
pub fn tls() -> rustls::ClientConfig {
    static TLS: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("the provider supports the default versions"))
        .with_root_certificates(roots)
        .with_no_client_auth()
    });
    // A clone shares the roots and the provider (they are behind `Arc`s).
    TLS.clone()
}

/// A reqwest client with the shared TLS configuration.
pub(crate) fn reqwest_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls())
        .connect_timeout(CONNECT_TIMEOUT)
}

/// An HTTP client that could not be built as configured. There is no fallback: a client
/// without its timeouts or redirect policy would fail later and quietly (a peer that never
/// answers eats the invocation; a redirected command goes where nobody named), so the cold
/// start fails instead, with this message.
#[derive(Debug, thiserror::Error)]
#[error("the {client} HTTP client cannot be built as configured")]
pub struct ClientError {
    pub client: &'static str,
    #[source]
    pub source: reqwest::Error,
}

/// Builds `client` as configured by `builder`, or says which one could not be.
pub(crate) fn build(
    builder: reqwest::ClientBuilder,
    client: &'static str,
) -> Result<reqwest::Client, ClientError> {
    builder
        .build()
        .map_err(|source| ClientError { client, source })
}

/// The client of Login with Amazon and the event gateway, built once at cold start. Clones
/// share one client, and with it one connection pool.
#[derive(Debug, Clone)]
pub struct Http(reqwest::Client);

impl Http {
    /// The client with the process's timeouts. It follows no redirect: a redirected token
    /// request would carry the client secret and the customer's refresh token, and a
    /// redirected event their access token, to an address nobody configured.
    pub fn new() -> Result<Self, ClientError> {
        build(
            reqwest_builder()
                .timeout(REQUEST_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none()),
            "Login with Amazon and event gateway",
        )
        .map(Self)
    }

    pub fn get(&self) -> &reqwest::Client {
        &self.0
    }
}

impl From<reqwest::Client> for Http {
    fn from(client: reqwest::Client) -> Self {
        Self(client)
    }
}

/// The process's client for Login with Amazon and the event gateway.
pub fn client() -> Result<Http, ClientError> {
    Http::new()
}

/// An answer's body was not read: larger than the peer may send, or cut off.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than the {limit} bytes accepted")]
    TooLarge { limit: usize },
    #[error("the answer could not be read")]
    Read(#[source] reqwest::Error),
}

impl BodyError {
    /// Whether the peer did not answer in time (the request's timeout ran out mid-body).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Read(e) if e.is_timeout())
    }
}

/// Reads an answer's body, at most `limit` bytes: a peer that sends more (a misbehaving proxy,
/// a hostile server) costs `limit` of memory and an error, not whatever it chose to send.
/// A `Content-Length` over the limit is refused before anything is read; one within it is
/// read at once (the connection holds the peer to it).
pub async fn read_body(
    mut answer: reqwest::Response,
    limit: usize,
) -> Result<bytes::Bytes, BodyError> {
    match answer.content_length() {
        Some(n) if n > u64::try_from(limit).unwrap_or(u64::MAX) => {
            return Err(BodyError::TooLarge { limit });
        }
        Some(_) => return answer.bytes().await.map_err(BodyError::Read),
        None => {}
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = answer.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reqwest_takes_the_shared_tls_configuration() {
        // `tls_backend_preconfigured` accepts only the rustls version reqwest was built with;
        // any other is an error at build time, which this catches.
        reqwest_builder()
            .build()
            .expect("reqwest knows the TLS configuration");
        Http::new().expect("the LWA and gateway client builds");
    }

    #[test]
    fn a_client_that_cannot_be_built_is_an_error_naming_it_not_a_fallback() {
        // A TLS configuration reqwest does not know: the one way our builders can fail.
        let broken = reqwest::Client::builder().tls_backend_preconfigured(42_u8);
        let error = build(broken, "maker's API").unwrap_err();
        assert_eq!(error.client, "maker's API");
        assert_eq!(
            error.to_string(),
            "the maker's API HTTP client cannot be built as configured"
        );
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_their_limit() {
        use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 2048]))
            .mount(&server)
            .await;
        let http = Http::new().unwrap();
        let get = || http.get().get(server.uri()).send();
        assert_eq!(
            read_body(get().await.unwrap(), 2048).await.unwrap().len(),
            2048
        );
        assert!(matches!(
            read_body(get().await.unwrap(), 2047).await,
            Err(BodyError::TooLarge { limit: 2047 })
        ));
    }

    #[test]
    fn the_trust_anchors_include_amazons_roots() {
        let names: Vec<String> = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.contains("Amazon Root CA 1")),
            "DynamoDB, Login with Amazon and the event gateway chain to Amazon Root CA 1"
        );
    }
}
