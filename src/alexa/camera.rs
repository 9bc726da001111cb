//! Cameras' vocabularies and messages: `Alexa.CameraStreamController`'s stream configurations,
//! requests and answers, and `Alexa.RTCSessionController`'s session description exchange.
//! Each value's name is written here once.

use serde::{Deserialize, Serialize};

/// A stream protocol Alexa takes from a camera (the official schema knows RTSP and WebRTC;
/// WebRTC goes through `Alexa.RTCSessionController`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamProtocol {
    Rtsp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamAuthorization {
    Basic,
    Digest,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoCodec {
    H264,
    Mpeg2,
    Mjpeg,
    Jpg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AudioCodec {
    G711,
    Aac,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
}

/// One of a camera's stream configurations, as discovery declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamConfiguration {
    pub protocols: Vec<StreamProtocol>,
    pub resolutions: Vec<Resolution>,
    pub authorization_types: Vec<StreamAuthorization>,
    pub video_codecs: Vec<VideoCodec>,
    pub audio_codecs: Vec<AudioCodec>,
}

/// A stream Alexa asks for (`InitializeCameraStreams`), passed on to the maker's API as sent:
/// its values are Alexa's choice among the declared ones, and a newer value (Amazon's own
/// sample asks for `BEARER`) is the maker's to refuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRequest {
    pub protocol: String,
    pub resolution: Resolution,
    pub authorization_type: String,
    pub video_codec: String,
    pub audio_codec: String,
}

/// A stream the maker's API hands out, as `Alexa.CameraStreamController`'s `Response` carries
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraStream {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_seconds: Option<u32>,
    pub protocol: StreamProtocol,
    pub resolution: Resolution,
    pub authorization_type: StreamAuthorization,
    pub video_codec: VideoCodec,
    pub audio_codec: AudioCodec,
}

/// The payload of the streams' `Response`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraStreams {
    pub camera_streams: Vec<CameraStream>,
    pub image_uri: String,
}

/// A WebRTC session description (`offer` and `answer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    /// `SDP`.
    pub format: String,
    pub value: String,
}

/// The one session description format Alexa speaks.
pub const SDP: &str = "SDP";
