//! A camera's view: `InitializeCameraStreams` and the WebRTC session of
//! `Alexa.RTCSessionController`, answered by the maker's API (only the maker can mint a
//! stream's short-lived credentials or a camera's SDP answer) within Amazon's 6 s camera
//! budget.
//!
//! What the maker answers is checked against Amazon's rules before Alexa sees it: a stream is
//! RTSP on port 443, its expiry in the future, its idle timeout at least a second, its image an
//! `https` URI; an SDP answer is SDP and not empty. A late answer is `ENDPOINT_UNREACHABLE`
//! and an invalid one `INTERNAL_ERROR` (logged with the reason): never a stream that cannot
//! play.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{error, warn};

use super::{Services, in_time};
use crate::alexa::BearerToken;
use crate::alexa::camera::{CameraStreams, SDP, SessionDescription, StreamRequest};
use crate::alexa::control::Command;
use crate::alexa::directive::Header;
use crate::alexa::event::{self, Addressing, AnswerPayload, Message, SessionPayload};
use crate::cloud::https::Ask;
use crate::cloud::{Adapter, CloudError};
use crate::deadline::{Deadline, MARGIN};
use crate::device::Connectivity;
use crate::device::properties::reportable;
use crate::error::SkillError;
use crate::ids::EndpointId;
use crate::store::Store;

/// The answer to a camera's directive.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum CameraAnswer {
    Streams(Message<CameraStreams>),
    SessionAnswer(Message<AnswerPayload>),
    Session(Message<SessionPayload>),
}

/// How long Alexa waits for a camera's answer (Amazon: "within six seconds").
pub const CAMERA_BUDGET: Duration = Duration::from_secs(6);
/// The port Amazon requires RTSP (and its RTP, interleaved) on, over TLS.
pub const RTSP_PORT: u16 = 443;

/// Asks the maker's API for the camera's view, by the earlier of `deadline` and the camera
/// budget.
pub async fn view<S: Store>(
    services: &Services<S>,
    to: &Addressing,
    header: &Header,
    endpoint_id: &EndpointId,
    token: &BearerToken,
    command: &Command,
    deadline: &Deadline,
) -> Result<CameraAnswer, SkillError> {
    let deadline = (*deadline).min(Deadline::after(CAMERA_BUDGET.saturating_sub(MARGIN)));
    let user_id = services.customer(token, &deadline).await?;
    let Some(device) = in_time(&deadline, services.store.device(&user_id, endpoint_id)).await?
    else {
        return Err(SkillError::NoSuchEndpoint);
    };
    let (interface, _) = command.target();
    if !device
        .definition
        .capabilities
        .iter()
        .any(|c| c.declares(interface, None))
    {
        return Err(SkillError::NotSupported(interface.namespace()));
    }
    if services.clouds.adapter_for(&device) != Adapter::Https {
        // Discovery leaves such a camera out; an old discovery may still name it.
        return Err(CloudError::Refused("a camera's view needs the https adapter".into()).into());
    }
    if device.connectivity == Connectivity::Unreachable {
        return Err(SkillError::Unreachable);
    }
    let api = services.clouds.https.as_ref().ok_or_else(|| {
        CloudError::Refused("the https adapter needs DEVICE_API_URL and DEVICE_API_SECRET".into())
    })?;
    let command_id = uuid::Uuid::new_v4().simple().to_string();
    // The request's envelope; its fields differ by directive.
    macro_rules! ask {
        ($fields:expr) => {
            Ask {
                device: &device,
                namespace: &header.namespace,
                name: &header.name,
                command_id: &command_id,
                issued_at_ms: services.clock.now_ms(),
                fields: $fields,
            }
        };
    }
    let timeout = deadline
        .timeout_for(api.timeout(), Duration::ZERO)
        .map_err(|_| CloudError::Unreachable("no time left to ask the maker's API".into()))?;
    match command {
        Command::InitializeCameraStreams(requests) => {
            let answer = api
                .ask(
                    &ask!(&StreamsAsked {
                        camera_streams: requests
                    }),
                    timeout,
                )
                .await?;
            let streams = checked_streams(answer.as_deref(), services.clock.now_ms())
                .inspect_err(
                    |reason| error!(%reason, "the maker's API answered no playable stream"),
                )
                .map_err(CloudError::Refused)?;
            let properties = reportable(&device, services.clock.now_ms());
            Ok(CameraAnswer::Streams(event::camera_streams(
                to, streams, properties,
            )))
        }
        Command::InitiateSession { session_id, offer } => {
            let answer = api
                .ask(&ask!(&OfferAsked { session_id, offer }), timeout)
                .await?;
            let answer = checked_answer(answer.as_deref())
                .inspect_err(|reason| error!(%reason, "the maker's API answered no SDP answer"))
                .map_err(CloudError::Refused)?;
            Ok(CameraAnswer::SessionAnswer(event::session_answer(
                to, answer,
            )))
        }
        Command::SessionState {
            session_id,
            connected,
        } => {
            // News the camera needs (a disconnect ends its stream); its answer carries nothing.
            if let Some(body) = api.ask(&ask!(&SessionTold { session_id }), timeout).await?
                && !body.is_empty()
            {
                warn!("the maker's API answered a session's news with a body; ignored");
            }
            Ok(CameraAnswer::Session(event::session_state(
                to,
                *connected,
                session_id.clone(),
            )))
        }
        _ => Err(SkillError::NotSupported("this directive on a camera")),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamsAsked<'a> {
    camera_streams: &'a [StreamRequest],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OfferAsked<'a> {
    session_id: &'a str,
    offer: &'a SessionDescription,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionTold<'a> {
    session_id: &'a str,
}

#[derive(Deserialize)]
struct Answered {
    answer: SessionDescription,
}

/// The maker's streams, if Alexa can play every one of them.
pub fn checked_streams(body: Option<&[u8]>, now_ms: i64) -> Result<CameraStreams, String> {
    let body = body.ok_or("no body")?;
    let streams: CameraStreams =
        serde_json::from_slice(body).map_err(|e| format!("not the documented answer: {e}"))?;
    if streams.camera_streams.is_empty() {
        return Err("no stream".into());
    }
    for stream in &streams.camera_streams {
        let uri = reqwest::Url::parse(&stream.uri).map_err(|e| format!("a stream's uri: {e}"))?;
        if !matches!(uri.scheme(), "rtsp" | "rtsps") || uri.port() != Some(RTSP_PORT) {
            return Err(format!(
                "a stream is not RTSP on port {RTSP_PORT} (scheme {}, port {:?})",
                uri.scheme(),
                uri.port()
            ));
        }
        if let Some(expiry) = &stream.expiration_time {
            let at = chrono::DateTime::parse_from_rfc3339(expiry)
                .map_err(|e| format!("a stream's expirationTime: {e}"))?;
            if at.timestamp_millis() <= now_ms {
                return Err("a stream has expired already".into());
            }
        }
        if stream.idle_timeout_seconds == Some(0) {
            return Err("a stream's idleTimeoutSeconds is 0".into());
        }
    }
    let image = reqwest::Url::parse(&streams.image_uri).map_err(|e| format!("imageUri: {e}"))?;
    if image.scheme() != "https" {
        return Err("imageUri is not https".into());
    }
    Ok(streams)
}

/// The maker's SDP answer, if it is one.
pub fn checked_answer(body: Option<&[u8]>) -> Result<SessionDescription, String> {
    let body = body.ok_or("no body")?;
    let Answered { answer } =
        serde_json::from_slice(body).map_err(|e| format!("not the documented answer: {e}"))?;
    if answer.format != SDP || answer.value.trim().is_empty() {
        return Err("the answer is not an SDP session description".into());
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_900_000_000_000;

    fn answer(uri: &str, expiry: &str, image: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "cameraStreams": [{
                "uri": uri, "expirationTime": expiry, "idleTimeoutSeconds": 30,
                "protocol": "RTSP", "resolution": {"width": 1920, "height": 1080},
                "authorizationType": "BASIC", "videoCodec": "H264", "audioCodec": "AAC"
            }],
            "imageUri": image,
        }))
        .unwrap()
    }

    #[test]
    fn only_playable_streams_pass() {
        let future = "2030-03-17T19:46:40Z";
        let ok = answer(
            "rtsps://cam.example.com:443/live/1",
            future,
            "https://cam.example.com/i.jpg",
        );
        assert!(checked_streams(Some(&ok), NOW).is_ok());
        for (uri, expiry, image) in [
            (
                "rtsps://cam.example.com:554/live",
                future,
                "https://x.example/i.jpg",
            ),
            (
                "rtsps://cam.example.com/live",
                future,
                "https://x.example/i.jpg",
            ),
            (
                "https://cam.example.com:443/live",
                future,
                "https://x.example/i.jpg",
            ),
            (
                "rtsps://cam.example.com:443/live",
                "2020-01-01T00:00:00Z",
                "https://x.example/i.jpg",
            ),
            (
                "rtsps://cam.example.com:443/live",
                "tomorrow",
                "https://x.example/i.jpg",
            ),
            (
                "rtsps://cam.example.com:443/live",
                future,
                "http://x.example/i.jpg",
            ),
        ] {
            assert!(
                checked_streams(Some(&answer(uri, expiry, image)), NOW).is_err(),
                "{uri} {expiry} {image}"
            );
        }
        let hls = String::from_utf8(ok.clone())
            .unwrap()
            .replace("\"RTSP\"", "\"HLS\"");
        assert!(checked_streams(Some(hls.as_bytes()), NOW).is_err());
        assert!(checked_streams(None, NOW).is_err());
        assert!(
            checked_streams(
                Some(b"{\"cameraStreams\": [], \"imageUri\": \"https://x/i\"}"),
                NOW
            )
            .is_err()
        );
    }

    #[test]
    fn only_an_sdp_answer_passes() {
        let ok = br#"{"answer": {"format": "SDP", "value": "v=0\r\no=- 1 2 IN IP4 0.0.0.0"}}"#;
        assert!(checked_answer(Some(ok)).is_ok());
        assert!(
            checked_answer(Some(br#"{"answer": {"format": "JSEP", "value": "v=0"}}"#)).is_err()
        );
        assert!(checked_answer(Some(br#"{"answer": {"format": "SDP", "value": " "}}"#)).is_err());
        assert!(checked_answer(None).is_err());
    }
}
