//! The `https` adapter: the maker's own API receives each command as a signed JSON POST.
//!
//! The signature binds the body to a timestamp under a secret shared with the maker, so that
//! the maker's API can tell our commands from anyone else's and refuse a replayed one. The
//! maker's answer is mapped strictly: only a 200 carrying the device's state confirms, and
//! anything the contract does not name is an error, never a success, because a wrong
//! confirmation tells the customer a door is locked when it is not.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{CloudCommand, CloudError, Delivery};
use crate::alexa::Secret;
use crate::alexa::security::FOUR_DIGIT_PIN;
use crate::device::{DeviceState, PanelRefusal, Zone};

/// How far a command's timestamp may be from the receiver's clock: wide enough for clock skew
/// and a slow network, narrow enough that a captured command cannot be replayed later.
pub const REPLAY_WINDOW_SECS: i64 = 300;
pub const TIMESTAMP_HEADER: &str = "X-Alexa-Skill-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Alexa-Skill-Signature";

/// The scheme tag, so that the scheme can change without breaking makers mid-rotation.
const SCHEME: &str = "v1";
/// A maker's `message` reaches the logs; bound it.
const MESSAGE_LIMIT: usize = 200;
/// The most of an answer that is read: a device's state is a few hundred bytes, an error
/// smaller; more is a misbehaving API, answered as one without reading on.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A maker's API, as configured for the deployment.
#[derive(Clone)]
pub struct HttpsApi {
    http: reqwest::Client,
    url: String,
    secret: Secret,
    timeout: Duration,
}

// By hand, so that no future field can print the secret.
impl fmt::Debug for HttpsApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsApi")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommandBody<'a> {
    command_id: &'a str,
    user_id: &'a str,
    endpoint_id: &'a str,
    directive: DirectiveName<'a>,
    desired: &'a DeviceState,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie: Option<&'a BTreeMap<String, String>>,
    /// A panel's Disarm: the customer's PIN, for the maker to check.
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization: Option<Authorization<'a>>,
}

#[derive(Serialize)]
struct Authorization<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct DirectiveName<'a> {
    namespace: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<&'a str>,
}

#[derive(Deserialize)]
struct Confirmation {
    state: DeviceState,
}

/// Every field optional: a malformed `percentage` must not cost us the error code.
#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
    percentage: Option<serde_json::Value>,
    /// `BYPASS_NEEDED`: the open zones, as the device model writes them (`name`, `endpointId`).
    zones: Option<serde_json::Value>,
}

/// The most open zones an answer passes on, each name cut to Alexa's 128 characters.
const MAX_ZONES: usize = 32;

impl HttpsApi {
    /// `timeout` bounds the whole exchange; it should leave the handler time to answer Alexa.
    ///
    /// The client is its own: it follows no redirect, since a redirected POST would carry a
    /// signed command to an address the deployment never named (or lose its body).
    pub fn new(
        url: String,
        secret: Secret,
        timeout: Duration,
    ) -> Result<Self, crate::http::ClientError> {
        let http = crate::http::build(
            crate::http::reqwest_builder().redirect(reqwest::redirect::Policy::none()),
            "maker's API",
        )?;
        Ok(Self {
            http,
            url,
            secret,
            timeout,
        })
    }

    /// The most a command may take, as configured (`DEVICE_API_TIMEOUT_MS`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `command`, giving up after `timeout` (at most [`Self::timeout`]: what the
    /// directive's deadline leaves).
    pub async fn send(
        &self,
        command: &CloudCommand<'_>,
        timeout: Duration,
    ) -> Result<Delivery, CloudError> {
        let timeout = timeout.min(self.timeout);
        let device = command.device;
        let body = serde_json::to_vec(&CommandBody {
            command_id: command.command_id,
            user_id: &device.definition.user_id,
            endpoint_id: &device.definition.endpoint_id,
            directive: DirectiveName {
                namespace: command.namespace,
                name: command.name,
                instance: command.instance,
            },
            desired: command.desired,
            cookie: (!device.definition.cookie.is_empty()).then_some(&device.definition.cookie),
            authorization: command.pin.map(|pin| Authorization {
                kind: FOUR_DIGIT_PIN,
                value: pin.expose(),
            }),
        })
        .map_err(|e| CloudError::Failed(Box::new(e)))?;
        let (status, body) = self
            .post(
                body,
                command.issued_at_ms,
                timeout,
                &device.definition.endpoint_id,
            )
            .await?;
        match (status, body) {
            (StatusCode::ACCEPTED, _) => Ok(Delivery::Accepted {
                shadow_version: None,
            }),
            (StatusCode::OK, Some(body)) => serde_json::from_slice::<Confirmation>(&body)
                .map(|c| Delivery::Confirmed(Box::new(c.state)))
                .map_err(|_| {
                    CloudError::Refused("a 200 answer without the device's state".to_owned())
                }),
            (status, body) => Err(refusal(status, body.as_deref().unwrap_or_default())),
        }
    }

    /// Signs `body` (issued at `issued_at_ms`) and posts it within `timeout`: the answer's
    /// status, and its body unless it is 202 or 204.
    async fn post(
        &self,
        body: Vec<u8>,
        issued_at_ms: i64,
        timeout: Duration,
        endpoint_id: &str,
    ) -> Result<(StatusCode, Option<bytes::Bytes>), CloudError> {
        let timestamp = issued_at_ms.div_euclid(1000);
        let signature = signature(self.secret.expose().as_bytes(), timestamp, &body);
        let answer = self
            .http
            .post(&self.url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| network(e, timeout))?;
        let status = answer.status();
        tracing::debug!(
            endpoint_id,
            status = status.as_u16(),
            "the device cloud answered"
        );
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok((status, None));
        }
        match crate::http::read_body(answer, BODY_LIMIT).await {
            Ok(body) => Ok((status, Some(body))),
            Err(e) if e.is_timeout() => Err(network_timeout(timeout)),
            Err(e) => Err(CloudError::Refused(format!(
                "the device cloud's answer: {e}"
            ))),
        }
    }
}

/// A camera's request to the maker's API: the command's envelope and signature, and the
/// request's own fields beside them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AskBody<'a, T> {
    command_id: &'a str,
    user_id: &'a str,
    endpoint_id: &'a str,
    directive: DirectiveName<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie: Option<&'a BTreeMap<String, String>>,
    #[serde(flatten)]
    fields: &'a T,
}

/// One request that is not a state change (a camera's stream, a WebRTC offer), as a device
/// cloud adapter is asked it.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a, T> {
    pub device: &'a crate::device::Device,
    pub namespace: &'a str,
    pub name: &'a str,
    pub command_id: &'a str,
    pub issued_at_ms: i64,
    /// The request's own fields, beside the envelope's.
    pub fields: &'a T,
}

impl HttpsApi {
    /// Sends a request that is not a state change, signed as a command is, within `timeout`;
    /// the body of a 200 answer, `None` for 202 or 204, and any other answer mapped as a
    /// command's is.
    pub async fn ask<T: Serialize>(
        &self,
        ask: &Ask<'_, T>,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, CloudError> {
        let timeout = timeout.min(self.timeout);
        let device = ask.device;
        let body = serde_json::to_vec(&AskBody {
            command_id: ask.command_id,
            user_id: &device.definition.user_id,
            endpoint_id: &device.definition.endpoint_id,
            directive: DirectiveName {
                namespace: ask.namespace,
                name: ask.name,
                instance: None,
            },
            cookie: (!device.definition.cookie.is_empty()).then_some(&device.definition.cookie),
            fields: ask.fields,
        })
        .map_err(|e| CloudError::Failed(Box::new(e)))?;
        match self
            .post(
                body,
                ask.issued_at_ms,
                timeout,
                &device.definition.endpoint_id,
            )
            .await?
        {
            (StatusCode::ACCEPTED | StatusCode::NO_CONTENT, _) => Ok(None),
            (StatusCode::OK, body) => Ok(Some(body.unwrap_or_default().to_vec())),
            (status, body) => Err(refusal(status, body.as_deref().unwrap_or_default())),
        }
    }
}

fn network(e: reqwest::Error, timeout: Duration) -> CloudError {
    if e.is_timeout() {
        network_timeout(timeout)
    } else if e.is_connect() {
        CloudError::Unreachable("cannot connect to the device cloud".to_owned())
    } else {
        CloudError::Failed(Box::new(e))
    }
}

fn network_timeout(timeout: Duration) -> CloudError {
    CloudError::Unreachable(format!("no answer within {} ms", timeout.as_millis()))
}

/// Any answer but 200 and 202. The maker's error code wins over the status: it is the only
/// way to say "low battery", and a maker may send it with whatever status its framework likes.
fn refusal(status: StatusCode, body: &[u8]) -> CloudError {
    let code = (status.is_client_error() || status.is_server_error())
        .then(|| serde_json::from_slice::<ErrorBody>(body).ok())
        .flatten();
    if let Some(ErrorBody {
        error: Some(error),
        message,
        percentage,
        zones,
    }) = code
    {
        let zones = || {
            let mut zones: Vec<Zone> = zones
                .and_then(|z| serde_json::from_value(z).ok())
                .unwrap_or_default();
            zones.truncate(MAX_ZONES);
            for zone in &mut zones {
                zone.name = zone.name.chars().take(128).collect();
            }
            zones
        };
        match error.as_str() {
            "ENDPOINT_UNREACHABLE" => {
                let message = message.map_or_else(
                    || "the device cloud answered ENDPOINT_UNREACHABLE".to_owned(),
                    |m| m.chars().take(MESSAGE_LIMIT).collect(),
                );
                return CloudError::Unreachable(message);
            }
            "ENDPOINT_BUSY" => return CloudError::Busy,
            "ENDPOINT_LOW_POWER" => {
                let percentage = percentage
                    .and_then(|p| p.as_u64())
                    .filter(|p| *p <= 100)
                    .and_then(|p| u8::try_from(p).ok());
                return CloudError::LowPower { percentage };
            }
            "NO_SUCH_ENDPOINT" => return CloudError::NoSuchDevice,
            "UNAUTHORIZED" => return CloudError::Panel(PanelRefusal::Unauthorized),
            "AUTHORIZATION_REQUIRED" => {
                return CloudError::Panel(PanelRefusal::AuthorizationRequired);
            }
            "NOT_READY" => return CloudError::Panel(PanelRefusal::NotReady),
            "UNCLEARED_ALARM" => return CloudError::Panel(PanelRefusal::UnclearedAlarm),
            "UNCLEARED_TROUBLE" => return CloudError::Panel(PanelRefusal::UnclearedTrouble),
            "BYPASS_NEEDED" => return CloudError::Panel(PanelRefusal::BypassNeeded(zones())),
            _ => {}
        }
    }
    let code = status.as_u16();
    match code {
        404 => CloudError::NoSuchDevice,
        409 | 429 => CloudError::Busy,
        401 | 403 => CloudError::Refused(format!(
            "signature rejected ({code}): the shared secret or the clock is wrong"
        )),
        500..=599 => CloudError::Unreachable(format!("the device cloud answered {code}")),
        _ => CloudError::Refused(format!("the device cloud answered {code}")),
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{SCHEME}:{timestamp}:").as_bytes());
    mac.update(body);
    mac
}

/// `v1=<lowercase hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>`. The timestamp
/// is inside the MAC so that it cannot be moved forward to replay an old body.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("{SCHEME}={}", hex::encode(tag))
}

/// Why [`verify`] refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the timestamp is not Unix seconds")]
    Timestamp,
    #[error("the timestamp is outside the replay window")]
    Expired,
    #[error("the signature is not a v1 signature")]
    Scheme,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// [`verify`] on a received request's headers: for a maker's API written in Rust, and the
/// tests' fakes.
pub fn verify_request(
    secret: &[u8],
    headers: &http::HeaderMap,
    body: &[u8],
    now_unix: i64,
) -> Result<(), VerifyError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    verify(
        secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        body,
        now_unix,
    )
}

/// What a maker's API does with our headers (and what the local fake and the tests do).
/// The comparison is constant time, so that response timing does not reveal the signature.
pub fn verify(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<(), VerifyError> {
    let timestamp: i64 = timestamp_header
        .parse()
        .map_err(|_| VerifyError::Timestamp)?;
    if now_unix.abs_diff(timestamp) > REPLAY_WINDOW_SECS.unsigned_abs() {
        return Err(VerifyError::Expired);
    }
    let tag = signature_header
        .strip_prefix(SCHEME)
        .and_then(|s| s.strip_prefix('='))
        .ok_or(VerifyError::Scheme)?;
    let tag = hex::decode(tag).map_err(|_| VerifyError::Mismatch)?;
    mac(secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    use std::time::SystemTime;

    use super::*;
    use crate::clock::Clock;
    use crate::device::{Device, LockState};
    use crate::store::unix_seconds;

    const SECRET: &[u8] = b"maker-shared-secret";

    /// The maker's API: checks the signature as a maker would, then gives the set answer.
    struct Maker(ResponseTemplate);

    impl Respond for Maker {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let now = unix_seconds(SystemTime::now());
            match verify_request(SECRET, &request.headers, &request.body, now) {
                Ok(()) => self.0.clone(),
                Err(_) => ResponseTemplate::new(401),
            }
        }
    }

    async fn maker(answer: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/commands"))
            .and(header("content-type", "application/json"))
            .respond_with(Maker(answer))
            .expect(1)
            .mount(&server)
            .await;
        server
    }

    fn device() -> Device {
        serde_json::from_value(json!({
            "userId": "u", "endpointId": "front-door", "name": "Front door",
            "description": "d", "manufacturer": "Acme", "category": "SMARTLOCK",
            "capabilities": [{"type": "lock"}]
        }))
        .expect("device")
    }

    async fn send_with(
        server: &MockServer,
        secret: &str,
        timeout: Duration,
    ) -> Result<Delivery, CloudError> {
        let api = HttpsApi::new(
            format!("{}/commands", server.uri()),
            Secret::new(secret),
            timeout,
        )
        .unwrap();
        let device = device();
        let desired = DeviceState {
            lock_state: Some(LockState::Locked),
            ..DeviceState::default()
        };
        api.send(
            &CloudCommand {
                device: &device,
                namespace: "Alexa.LockController",
                name: "Lock",
                instance: None,
                desired: &desired,
                command_id: "cmd-1",
                issued_at_ms: Clock::system().now_ms(),
                pin: None,
            },
            timeout,
        )
        .await
    }

    async fn send(server: &MockServer) -> Result<Delivery, CloudError> {
        let secret = std::str::from_utf8(SECRET).expect("utf-8");
        send_with(server, secret, Duration::from_secs(2)).await
    }

    fn json_answer(status: u16, body: Value) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(body)
    }

    #[tokio::test]
    async fn a_200_with_the_state_confirms_and_the_body_carries_the_command() {
        let server = maker(json_answer(200, json!({"state": {"lockState": "LOCKED"}}))).await;
        let delivery = send(&server).await.expect("confirmed");
        let Delivery::Confirmed(state) = delivery else {
            panic!("not confirmed: {delivery:?}");
        };
        assert_eq!(state.lock_state, Some(LockState::Locked));

        let requests = server.received_requests().await.expect("recorded");
        let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
        assert_eq!(body["commandId"], "cmd-1");
        assert_eq!(body["userId"], "u");
        assert_eq!(body["endpointId"], "front-door");
        assert_eq!(body["directive"]["namespace"], "Alexa.LockController");
        assert_eq!(body["directive"]["name"], "Lock");
        assert!(body["directive"].get("instance").is_none());
        assert_eq!(body["desired"], json!({"lockState": "LOCKED"}));
        assert!(body.get("cookie").is_none(), "an empty cookie is omitted");
    }

    #[tokio::test]
    async fn a_202_is_accepted() {
        let server = maker(ResponseTemplate::new(202).set_body_string("queued")).await;
        let delivery = send(&server).await.expect("accepted");
        assert_eq!(
            delivery,
            Delivery::Accepted {
                shadow_version: None
            }
        );
    }

    #[tokio::test]
    async fn low_power_code_carries_the_percentage() {
        let body = json!({"error": "ENDPOINT_LOW_POWER", "percentage": 7});
        let server = maker(json_answer(422, body)).await;
        let error = send(&server).await.expect_err("low power");
        assert!(
            matches!(
                error,
                CloudError::LowPower {
                    percentage: Some(7)
                }
            ),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn low_power_with_an_impossible_percentage_has_none() {
        let body = json!({"error": "ENDPOINT_LOW_POWER", "percentage": 140});
        let server = maker(json_answer(400, body)).await;
        let error = send(&server).await.expect_err("low power");
        assert!(
            matches!(error, CloudError::LowPower { percentage: None }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_404_without_a_body_is_no_such_device() {
        let server = maker(ResponseTemplate::new(404)).await;
        let error = send(&server).await.expect_err("404");
        assert!(matches!(error, CloudError::NoSuchDevice), "{error:?}");
    }

    #[tokio::test]
    async fn a_400_is_refused() {
        let server = maker(ResponseTemplate::new(400).set_body_string("bad request")).await;
        let error = send(&server).await.expect_err("400");
        assert!(matches!(error, CloudError::Refused(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_429_is_busy() {
        let server = maker(ResponseTemplate::new(429)).await;
        let error = send(&server).await.expect_err("429");
        assert!(matches!(error, CloudError::Busy), "{error:?}");
    }

    #[tokio::test]
    async fn a_500_is_unreachable() {
        let server = maker(ResponseTemplate::new(500)).await;
        let error = send(&server).await.expect_err("500");
        assert!(matches!(error, CloudError::Unreachable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_503_with_the_busy_code_is_busy() {
        let server = maker(json_answer(503, json!({"error": "ENDPOINT_BUSY"}))).await;
        let error = send(&server).await.expect_err("503");
        assert!(matches!(error, CloudError::Busy), "{error:?}");
    }

    #[tokio::test]
    async fn the_unreachable_code_carries_the_makers_message() {
        let body = json!({"error": "ENDPOINT_UNREACHABLE", "message": "hub offline"});
        let server = maker(json_answer(502, body)).await;
        let error = send(&server).await.expect_err("502");
        assert!(
            matches!(&error, CloudError::Unreachable(m) if m == "hub offline"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn no_answer_within_the_timeout_is_unreachable() {
        let slow = ResponseTemplate::new(200)
            .set_body_json(json!({"state": {"lockState": "LOCKED"}}))
            .set_delay(Duration::from_secs(1));
        let server = maker(slow).await;
        let secret = std::str::from_utf8(SECRET).expect("utf-8");
        let error = send_with(&server, secret, Duration::from_millis(200))
            .await
            .expect_err("timeout");
        assert!(
            matches!(&error, CloudError::Unreachable(m) if m.contains("no answer")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_rejected_signature_is_refused() {
        let server = maker(json_answer(200, json!({"state": {"lockState": "LOCKED"}}))).await;
        let error = send_with(&server, "another-secret", Duration::from_secs(2))
            .await
            .expect_err("401");
        assert!(
            matches!(&error, CloudError::Refused(m) if m.contains("signature rejected")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_200_outside_the_contract_is_refused() {
        let server = maker(json_answer(200, json!({"ok": true}))).await;
        let error = send(&server).await.expect_err("not the contract");
        assert!(matches!(error, CloudError::Refused(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_204_is_refused() {
        let server = maker(ResponseTemplate::new(204)).await;
        let error = send(&server).await.expect_err("204");
        assert!(matches!(error, CloudError::Refused(_)), "{error:?}");
    }

    #[test]
    fn the_signature_matches_a_known_vector() {
        // python3: hmac.new(b"secret", b"v1:1700000000:{}", hashlib.sha256).hexdigest()
        let expected = "v1=14ea7fd0a36d8557c745d82072f653f4e553e593c57ac365fab425da48e1c495";
        assert_eq!(signature(b"secret", 1_700_000_000, b"{}"), expected);
        assert_eq!(
            verify(b"secret", "1700000000", expected, b"{}", 1_700_000_100),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_fails() {
        let sig = signature(b"secret", 1_700_000_000, b"{\"a\":1}");
        let result = verify(b"secret", "1700000000", &sig, b"{\"a\":2}", 1_700_000_000);
        assert_eq!(result, Err(VerifyError::Mismatch));
    }

    #[test]
    fn a_timestamp_outside_the_window_fails() {
        let sig = signature(b"secret", 1_700_000_000, b"{}");
        let late = 1_700_000_000 + REPLAY_WINDOW_SECS + 1;
        let early = 1_700_000_000 - REPLAY_WINDOW_SECS - 1;
        for now in [late, early] {
            let result = verify(b"secret", "1700000000", &sig, b"{}", now);
            assert_eq!(result, Err(VerifyError::Expired));
        }
        let edge = 1_700_000_000 + REPLAY_WINDOW_SECS;
        assert_eq!(verify(b"secret", "1700000000", &sig, b"{}", edge), Ok(()));
    }

    #[test]
    fn a_signature_without_the_prefix_fails() {
        let sig = signature(b"secret", 1_700_000_000, b"{}");
        let bare = sig.strip_prefix("v1=").expect("prefixed");
        let result = verify(b"secret", "1700000000", bare, b"{}", 1_700_000_000);
        assert_eq!(result, Err(VerifyError::Scheme));
    }

    #[test]
    fn a_timestamp_that_is_not_an_integer_fails() {
        let sig = signature(b"secret", 1_700_000_000, b"{}");
        let result = verify(b"secret", "1700000000.0", &sig, b"{}", 1_700_000_000);
        assert_eq!(result, Err(VerifyError::Timestamp));
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let api = HttpsApi::new(
            "https://maker.example/commands".to_owned(),
            Secret::new("hunter2"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{api:?}").contains("hunter2"));
    }
}
