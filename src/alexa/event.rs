//! Messages the skill sends: responses to directives and proactive events to the gateway.
//!
//! Each message is a [`Message`] with a typed payload; the constructors below are the only
//! places that know each message's namespace and name.

use serde::Serialize;
use uuid::Uuid;

use super::camera::{CameraStreams, SessionDescription};
use super::endpoint::{Endpoint, EndpointRef};
use super::interface::Interface;
use super::{PAYLOAD_VERSION, Scope};
use crate::ids::EndpointId;

/// `{ "event": …, "context": … }`.
#[derive(Debug, Clone, Serialize)]
pub struct Message<P> {
    pub event: Event<P>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event<P> {
    pub header: EventHeader,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EventEndpoint>,
    pub payload: P,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHeader {
    pub namespace: Interface,
    pub name: &'static str,
    pub payload_version: &'static str,
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_token: Option<String>,
}

impl EventHeader {
    /// A header with a fresh UUID v4 message id, as Alexa requires for every message.
    pub fn new(
        namespace: Interface,
        name: &'static str,
        correlation_token: Option<String>,
    ) -> Self {
        Self {
            namespace,
            name,
            payload_version: PAYLOAD_VERSION,
            message_id: Uuid::new_v4().to_string(),
            correlation_token,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEndpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    pub endpoint_id: EndpointId,
}

/// `context.properties`: the reportable state of the endpoint.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    pub properties: Vec<PropertyState>,
}

/// One reported property value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyState {
    pub namespace: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub name: &'static str,
    pub value: serde_json::Value,
    /// UTC, `Z` suffix, at most millisecond precision.
    pub time_of_sample: String,
    pub uncertainty_in_milliseconds: u64,
}

/// An empty `{}` payload.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Empty {}

#[derive(Debug, Clone, Serialize)]
pub struct DiscoverPayload {
    pub endpoints: Vec<Endpoint>,
}

/// `AddOrUpdateReport`: full endpoint definitions, each replacing what Alexa had.
#[derive(Debug, Clone, Serialize)]
pub struct AddOrUpdatePayload {
    pub endpoints: Vec<Endpoint>,
    pub scope: Scope,
}

/// `DeleteReport`: the ids of endpoints that no longer exist.
#[derive(Debug, Clone, Serialize)]
pub struct DeletePayload {
    pub endpoints: Vec<EndpointRef>,
    pub scope: Scope,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangePayload {
    pub change: Change,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub cause: Cause,
    pub properties: Vec<PropertyState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cause {
    #[serde(rename = "type")]
    pub kind: CauseType,
}

/// Why a property changed, as `ChangeReport` tells Alexa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CauseType {
    AppInteraction,
    PhysicalInteraction,
    PeriodicPoll,
    RuleTrigger,
    VoiceInteraction,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorPayload {
    #[serde(rename = "type")]
    pub kind: ErrorType,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_range: Option<ValidRange>,
    /// `ENDPOINT_LOW_POWER`: the battery's charge, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage_state: Option<u8>,
    /// `REQUESTED_SETPOINTS_TOO_CLOSE`: the least gap the thermostat keeps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_temperature_delta: Option<serde_json::Value>,
    /// `BYPASS_NEEDED`: the open zones to bypass before arming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints_needing_bypass: Option<Vec<BypassEndpoint>>,
    /// `NOT_SUPPORTED_IN_CURRENT_MODE`: the mode the device is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_device_mode: Option<CurrentDeviceMode>,
}

/// An open zone of `BYPASS_NEEDED`: what Alexa reads out, and its endpoint if it is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BypassEndpoint {
    pub friendly_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<EndpointId>,
}

/// The mode a device that cannot take a command now is in (`NOT_SUPPORTED_IN_CURRENT_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CurrentDeviceMode {
    /// Off, or in standby.
    Asleep,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidRange {
    pub minimum_value: serde_json::Value,
    pub maximum_value: serde_json::Value,
}

/// The Alexa error types the skill answers with. `type` is shown to the customer, so each is
/// chosen for what the customer can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorType {
    InvalidDirective,
    InvalidAuthorizationCredential,
    ExpiredAuthorizationCredential,
    NoSuchEndpoint,
    EndpointUnreachable,
    ValueOutOfRange,
    TemperatureValueOutOfRange,
    InvalidValue,
    EndpointBusy,
    EndpointLowPower,
    NotSupportedInCurrentMode,
    /// The device's job is not running (`Alexa.TimeHoldController`).
    NotInOperation,
    /// `Alexa.ThermostatController` ErrorResponses only, from here on.
    ThermostatIsOff,
    UnsupportedThermostatMode,
    DualSetpointsUnsupported,
    TripleSetpointsUnsupported,
    RequestedSetpointsTooClose,
    /// `Alexa.SecurityPanelController` ErrorResponses only, from here on.
    Unauthorized,
    AuthorizationRequired,
    NotReady,
    BypassNeeded,
    UnclearedAlarm,
    UnclearedTrouble,
    InternalError,
    /// Only in `Alexa.Authorization` ErrorResponses.
    AcceptGrantFailed,
}

impl ErrorType {
    /// The name Alexa knows it by (`INVALID_DIRECTIVE`, …).
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => name,
            _ => String::new(),
        }
    }
}

/// Where an answer goes: the correlation token and endpoint echoed from the directive.
#[derive(Debug, Clone, Default)]
pub struct Addressing {
    pub correlation_token: Option<String>,
    pub endpoint_id: Option<EndpointId>,
}

impl Addressing {
    fn endpoint(&self) -> Option<EventEndpoint> {
        self.endpoint_id.clone().map(|endpoint_id| EventEndpoint {
            scope: None,
            endpoint_id,
        })
    }
}

/// `Alexa.Discovery` / `Discover.Response`.
pub fn discover_response(endpoints: Vec<Endpoint>) -> Message<DiscoverPayload> {
    Message {
        event: Event {
            header: EventHeader::new(Interface::Discovery, "Discover.Response", None),
            endpoint: None,
            payload: DiscoverPayload { endpoints },
        },
        context: None,
    }
}

/// `Alexa` / `ErrorResponse`, or `Alexa.Authorization` / `ErrorResponse` for AcceptGrant.
pub fn error_response(
    to: &Addressing,
    namespace: Interface,
    kind: ErrorType,
    message: String,
    valid_range: Option<ValidRange>,
) -> Message<ErrorPayload> {
    Message {
        event: Event {
            header: EventHeader::new(namespace, "ErrorResponse", to.correlation_token.clone()),
            endpoint: to.endpoint(),
            payload: ErrorPayload {
                kind,
                message,
                valid_range,
                percentage_state: None,
                minimum_temperature_delta: None,
                current_device_mode: None,
                endpoints_needing_bypass: None,
            },
        },
        context: None,
    }
}

/// `Alexa` / `Response`, or `StateReport`, with the endpoint's reportable state in `context`.
pub fn state_response(
    to: &Addressing,
    state_report: bool,
    properties: Vec<PropertyState>,
) -> Message<Empty> {
    let name = if state_report {
        "StateReport"
    } else {
        "Response"
    };
    Message {
        event: Event {
            header: EventHeader::new(Interface::Alexa, name, to.correlation_token.clone()),
            endpoint: to.endpoint(),
            payload: Empty {},
        },
        context: Some(Context { properties }),
    }
}

/// The payload of `DeferredResponse`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeferredPayload {
    pub estimated_deferral_in_seconds: u32,
}

/// `Alexa` / `DeferredResponse`: the device will answer later, through the event gateway.
/// The schema allows neither an endpoint nor a context here.
pub fn deferred_response(to: &Addressing, seconds: u32) -> Message<DeferredPayload> {
    Message {
        event: Event {
            header: EventHeader::new(
                Interface::Alexa,
                "DeferredResponse",
                to.correlation_token.clone(),
            ),
            endpoint: None,
            payload: DeferredPayload {
                estimated_deferral_in_seconds: seconds,
            },
        },
        context: None,
    }
}

/// The asynchronous `Alexa` / `Response` to a deferred directive, sent to the event gateway:
/// the directive's correlation token, and the customer's token in the endpoint's scope.
pub fn async_response(
    endpoint_id: EndpointId,
    correlation_token: String,
    scope: Scope,
    properties: Vec<PropertyState>,
) -> Message<Empty> {
    Message {
        event: Event {
            header: EventHeader::new(Interface::Alexa, "Response", Some(correlation_token)),
            endpoint: Some(EventEndpoint {
                scope: Some(scope),
                endpoint_id,
            }),
            payload: Empty {},
        },
        context: Some(Context { properties }),
    }
}

/// The payload of a scene's `ActivationStarted` / `DeactivationStarted`.
#[derive(Debug, Clone, Serialize)]
pub struct ScenePayload {
    pub cause: Cause,
    /// When the scene was (de)activated: UTC, `Z`, at most millisecond precision.
    pub timestamp: String,
}

/// `Alexa.SceneController` / `ActivationStarted` or `DeactivationStarted`, answering a scene's
/// Activate or Deactivate.
pub fn scene_started(
    to: &Addressing,
    activated: bool,
    timestamp: String,
    properties: Vec<PropertyState>,
) -> Message<ScenePayload> {
    let name = if activated {
        "ActivationStarted"
    } else {
        "DeactivationStarted"
    };
    Message {
        event: Event {
            header: EventHeader::new(Interface::Scene, name, to.correlation_token.clone()),
            endpoint: to.endpoint(),
            payload: ScenePayload {
                cause: Cause {
                    kind: CauseType::VoiceInteraction,
                },
                timestamp,
            },
        },
        context: Some(Context { properties }),
    }
}

/// `Alexa.CameraStreamController` / `Response`: the streams the maker's API handed out.
pub fn camera_streams(
    to: &Addressing,
    streams: CameraStreams,
    properties: Vec<PropertyState>,
) -> Message<CameraStreams> {
    Message {
        event: Event {
            header: EventHeader::new(
                Interface::CameraStream,
                "Response",
                to.correlation_token.clone(),
            ),
            endpoint: to.endpoint(),
            payload: streams,
        },
        context: Some(Context { properties }),
    }
}

/// The payload of `AnswerGeneratedForSession`.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerPayload {
    pub answer: SessionDescription,
}

/// `Alexa.RTCSessionController` / `AnswerGeneratedForSession`: the camera's SDP answer.
pub fn session_answer(to: &Addressing, answer: SessionDescription) -> Message<AnswerPayload> {
    Message {
        event: Event {
            header: EventHeader::new(
                Interface::RtcSession,
                "AnswerGeneratedForSession",
                to.correlation_token.clone(),
            ),
            endpoint: to.endpoint(),
            payload: AnswerPayload { answer },
        },
        context: None,
    }
}

/// The payload of `SessionConnected` and `SessionDisconnected`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPayload {
    pub session_id: String,
}

/// `Alexa.RTCSessionController` / `SessionConnected` or `SessionDisconnected`: the camera was
/// told.
pub fn session_state(
    to: &Addressing,
    connected: bool,
    session_id: String,
) -> Message<SessionPayload> {
    let name = if connected {
        "SessionConnected"
    } else {
        "SessionDisconnected"
    };
    Message {
        event: Event {
            header: EventHeader::new(Interface::RtcSession, name, to.correlation_token.clone()),
            endpoint: to.endpoint(),
            payload: SessionPayload { session_id },
        },
        context: None,
    }
}

/// The payload of `DoorbellPress`.
#[derive(Debug, Clone, Serialize)]
pub struct PressPayload {
    pub cause: Cause,
    /// When the doorbell was pressed: UTC, whole seconds, `Z` (the schema allows no fraction).
    pub timestamp: String,
}

/// `Alexa.DoorbellEventSource` / `DoorbellPress`: someone pressed the doorbell at `at_ms`.
pub fn doorbell_press(endpoint_id: EndpointId, scope: Scope, at_ms: i64) -> Message<PressPayload> {
    let timestamp = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    Message {
        event: Event {
            header: EventHeader::new(Interface::Doorbell, "DoorbellPress", None),
            endpoint: Some(EventEndpoint {
                scope: Some(scope),
                endpoint_id,
            }),
            payload: PressPayload {
                cause: Cause {
                    kind: CauseType::PhysicalInteraction,
                },
                timestamp,
            },
        },
        context: None,
    }
}

/// The payload of `Arm.Response`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmPayload {
    pub exit_delay_in_seconds: u8,
}

/// `Alexa.SecurityPanelController` / `Arm.Response`: armed, or arming once the exit delay has
/// passed; the context tells the arm state asked for.
pub fn arm_response(
    to: &Addressing,
    exit_delay_seconds: u8,
    properties: Vec<PropertyState>,
) -> Message<ArmPayload> {
    Message {
        event: Event {
            header: EventHeader::new(
                Interface::SecurityPanel,
                "Arm.Response",
                to.correlation_token.clone(),
            ),
            endpoint: to.endpoint(),
            payload: ArmPayload {
                exit_delay_in_seconds: exit_delay_seconds,
            },
        },
        context: Some(Context { properties }),
    }
}

/// The payload of `Alexa.SeekController` / `StateReport`.
#[derive(Debug, Clone, Serialize)]
pub struct SeekPayload {
    pub properties: [SeekPosition; 1],
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct SeekPosition {
    pub name: &'static str,
    pub value: u64,
}

/// `Alexa.SeekController` / `StateReport`, answering `AdjustSeekPosition` with where playback is
/// now (the position is in the payload, not among the context's properties).
pub fn seek_report(
    to: &Addressing,
    position_ms: u64,
    properties: Vec<PropertyState>,
) -> Message<SeekPayload> {
    Message {
        event: Event {
            header: EventHeader::new(Interface::Seek, "StateReport", to.correlation_token.clone()),
            endpoint: to.endpoint(),
            payload: SeekPayload {
                properties: [SeekPosition {
                    name: "positionMilliseconds",
                    value: position_ms,
                }],
            },
        },
        context: Some(Context { properties }),
    }
}

/// `Alexa.Authorization` / `AcceptGrant.Response`.
pub fn accept_grant_response() -> Message<Empty> {
    Message {
        event: Event {
            header: EventHeader::new(Interface::Authorization, "AcceptGrant.Response", None),
            endpoint: None,
            payload: Empty {},
        },
        context: None,
    }
}

/// `Alexa.Discovery` / `AddOrUpdateReport`.
pub fn add_or_update_report(endpoints: Vec<Endpoint>, scope: Scope) -> Message<AddOrUpdatePayload> {
    Message {
        event: Event {
            header: EventHeader::new(Interface::Discovery, "AddOrUpdateReport", None),
            endpoint: None,
            payload: AddOrUpdatePayload { endpoints, scope },
        },
        context: None,
    }
}

/// `Alexa.Discovery` / `DeleteReport`.
pub fn delete_report(endpoint_ids: Vec<EndpointId>, scope: Scope) -> Message<DeletePayload> {
    let endpoints = endpoint_ids
        .into_iter()
        .map(|endpoint_id| EndpointRef { endpoint_id })
        .collect();
    Message {
        event: Event {
            header: EventHeader::new(Interface::Discovery, "DeleteReport", None),
            endpoint: None,
            payload: DeletePayload { endpoints, scope },
        },
        context: None,
    }
}

/// `Alexa` / `ChangeReport`: the changed properties in the payload, the rest in `context`.
pub fn change_report(
    endpoint_id: EndpointId,
    scope: Scope,
    cause: CauseType,
    changed: Vec<PropertyState>,
    unchanged: Vec<PropertyState>,
) -> Message<ChangePayload> {
    Message {
        event: Event {
            header: EventHeader::new(Interface::Alexa, "ChangeReport", None),
            endpoint: Some(EventEndpoint {
                scope: Some(scope),
                endpoint_id,
            }),
            payload: ChangePayload {
                change: Change {
                    cause: Cause { kind: cause },
                    properties: changed,
                },
            },
        },
        context: Some(Context {
            properties: unchanged,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alexa::BearerToken;

    #[test]
    fn message_ids_are_fresh_uuid_v4() {
        let a = discover_response(vec![]);
        let b = discover_response(vec![]);
        assert_ne!(a.event.header.message_id, b.event.header.message_id);
        let id = Uuid::parse_str(&a.event.header.message_id).unwrap();
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn error_response_shape() {
        let to = Addressing {
            correlation_token: Some("ct".into()),
            endpoint_id: Some("e-1".into()),
        };
        let v = serde_json::to_value(error_response(
            &to,
            Interface::Alexa,
            ErrorType::NoSuchEndpoint,
            "gone".into(),
            None,
        ))
        .unwrap();
        assert_eq!(v["event"]["header"]["namespace"], "Alexa");
        assert_eq!(v["event"]["header"]["correlationToken"], "ct");
        assert_eq!(v["event"]["endpoint"]["endpointId"], "e-1");
        assert_eq!(v["event"]["payload"]["type"], "NO_SUCH_ENDPOINT");
        assert!(v.get("context").is_none());
    }

    #[test]
    fn delete_report_shape() {
        let msg = delete_report(vec!["a".into()], Scope::bearer(BearerToken::new("t")));
        let v = serde_json::to_value(msg).unwrap();
        assert_eq!(v["event"]["payload"]["endpoints"][0]["endpointId"], "a");
        assert_eq!(v["event"]["payload"]["scope"]["type"], "BearerToken");
        assert_eq!(v["event"]["payload"]["scope"]["token"], "t");
    }
}
