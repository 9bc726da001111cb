//! The one HTTP client of a process (Login with Amazon and the event gateway).

use std::time::Duration;

/// Connection attempts give up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A whole request (connect, send, answer) gives up after this long: a slow peer must not eat
/// the Lambda's time (Alexa waits 8 s for AcceptGrant; a stream batch must finish its retries
/// within the function's timeout).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Built once at cold start and shared; it pools connections to each peer.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        // Only a broken TLS setup fails here; the defaults still work for plain HTTP fakes.
        .unwrap_or_else(|_| reqwest::Client::new())
}
