//! The process's HTTP: one TLS configuration for everything it talks to (DynamoDB through the
//! AWS SDK, Login with Amazon, the event gateway), and the client of the latter two.
//!
//! The trust anchors are Mozilla's, compiled in (`webpki-roots`), not the system's CA bundle:
//! loading and parsing that bundle (and, on Debian, a directory of ~150 certificate files) cost
//! a cold start a millisecond or more, and it was done twice, once by the SDK's connector and
//! once by reqwest. The three peers are Amazon's, with roots in Mozilla's list; a new root
//! arrives with a `webpki-roots` update.

pub mod sdk;

use std::sync::{Arc, LazyLock, OnceLock};
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

/// The client of Login with Amazon and the event gateway. It is built at its first request:
/// most skill invocations (Discover, control, ReportState) never send one, so their cold start
/// does not pay for it. Clones share one client, and with it one connection pool.
#[derive(Debug, Clone, Default)]
pub struct Http(Arc<OnceLock<reqwest::Client>>);

impl Http {
    pub fn get(&self) -> &reqwest::Client {
        self.0.get_or_init(|| {
            reqwest_builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                // Only a TLS configuration reqwest does not know fails here; the unit test below
                // checks that it knows ours.
                .unwrap_or_else(|_| reqwest::Client::new())
        })
    }
}

impl From<reqwest::Client> for Http {
    fn from(client: reqwest::Client) -> Self {
        Self(Arc::new(OnceLock::from(client)))
    }
}

/// The process's client for Login with Amazon and the event gateway (built at its first use).
pub fn client() -> Http {
    Http::default()
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
