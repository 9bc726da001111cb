//! The skill's one error type and its one mapping to Alexa error responses.

use crate::alexa::directive::{ParseError, ReplyTo};
pub use crate::chain::Chain;
use serde_json::json;

use crate::alexa::event::{
    self, Addressing, BypassEndpoint, CurrentDeviceMode, ErrorPayload, ErrorType, Message,
    ValidRange,
};
use crate::alexa::interface::Interface;
use crate::cloud::CloudError;
use crate::device::{PanelRefusal, TemperatureScale};
use crate::linking::LinkingError;
use crate::lwa::LwaError;
use crate::store::StoreError;

/// Everything that can stop a directive from being carried out. Each variant's doc names the
/// Alexa error type it is answered with.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// `INVALID_DIRECTIVE`: the directive is malformed or not supported.
    #[error(transparent)]
    InvalidDirective(#[from] ParseError),
    /// The bearer token names no customer, or could not be checked: mapped per
    /// [`LinkingError`] variant (`INVALID_AUTHORIZATION_CREDENTIAL`,
    /// `EXPIRED_AUTHORIZATION_CREDENTIAL`, or `INTERNAL_ERROR` when the identity provider or
    /// the tokens table failed: never a credential error for an outage).
    #[error(transparent)]
    Linking(#[from] LinkingError),
    /// `NO_SUCH_ENDPOINT`: the customer has no such device (any more).
    #[error("no such endpoint in the customer's account")]
    NoSuchEndpoint,
    /// `ENDPOINT_UNREACHABLE`: the device cloud cannot reach the device.
    #[error("the device is unreachable")]
    Unreachable,
    /// `INVALID_DIRECTIVE`: the device does not have the interface the directive is for.
    #[error("the endpoint does not support {0}")]
    NotSupported(&'static str),
    /// `VALUE_OUT_OF_RANGE` with `validRange`.
    #[error("{value} is outside {min}..={max}")]
    ValueOutOfRange { value: f64, min: f64, max: f64 },
    /// `TEMPERATURE_VALUE_OUT_OF_RANGE` with `validRange`, in the thermostat's scale.
    #[error("{value} is outside {min}..={max} ({scale:?})")]
    TemperatureOutOfRange {
        value: f64,
        min: f64,
        max: f64,
        scale: TemperatureScale,
    },
    /// An `Alexa.SecurityPanelController` ErrorResponse, per [`PanelRefusal`] variant.
    #[error(transparent)]
    Panel(#[from] PanelRefusal),
    /// An `Alexa.ThermostatController` ErrorResponse.
    #[error(transparent)]
    Thermostat(#[from] ThermostatError),
    /// `INVALID_VALUE`: a value the device does not know (a thermostat mode it lacks, …).
    #[error("{0}")]
    InvalidValue(String),
    /// `ENDPOINT_LOW_POWER` with `percentageState`: the device cloud says the battery is too
    /// low for the device to act.
    #[error("the device's battery is too low to act")]
    LowPower { percentage: Option<u8> },
    /// `NOT_SUPPORTED_IN_CURRENT_MODE` with `currentDeviceMode`: the device cannot take the
    /// command as it is now (a TV that is off).
    #[error("{reason}")]
    NotInCurrentMode {
        mode: CurrentDeviceMode,
        reason: &'static str,
    },
    /// `NOT_IN_OPERATION`: the job the command is about is not running.
    #[error("{0}")]
    NotInOperation(&'static str),
    /// `ENDPOINT_BUSY`: other changes kept winning the race for this device's state.
    #[error("the device's state kept changing; gave up")]
    Busy,
    /// The device cloud did not carry the command out: mapped per [`CloudError`] variant.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// `INTERNAL_ERROR`: storage failed; the cause is logged, never sent.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `INTERNAL_ERROR`: the skill's own tables did not answer before the directive's
    /// deadline (a device cloud that does not is `ENDPOINT_UNREACHABLE`, see [`CloudError`]).
    #[error("no answer from storage before the directive's deadline")]
    OutOfTime,
    /// `INTERNAL_ERROR` (`ACCEPT_GRANT_FAILED` for AcceptGrant): Login with Amazon refused or failed.
    #[error("Login with Amazon: {0}")]
    Lwa(#[from] LwaError),
    /// `INTERNAL_ERROR`: the answer could not be serialized.
    #[error("serializing the answer failed")]
    Serialize(#[from] serde_json::Error),
}

impl SkillError {
    /// The Alexa error type this error is answered with.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::InvalidDirective(_) => ErrorType::InvalidDirective,
            Self::Linking(e) => match e {
                LinkingError::Invalid(_) => ErrorType::InvalidAuthorizationCredential,
                LinkingError::Expired => ErrorType::ExpiredAuthorizationCredential,
                LinkingError::Unavailable(_) | LinkingError::Store(_) | LinkingError::OutOfTime => {
                    ErrorType::InternalError
                }
            },
            Self::NoSuchEndpoint => ErrorType::NoSuchEndpoint,
            Self::Unreachable => ErrorType::EndpointUnreachable,
            Self::NotSupported(_) => ErrorType::InvalidDirective,
            Self::ValueOutOfRange { .. } => ErrorType::ValueOutOfRange,
            Self::TemperatureOutOfRange { .. } => ErrorType::TemperatureValueOutOfRange,
            Self::InvalidValue(_) => ErrorType::InvalidValue,
            Self::Busy => ErrorType::EndpointBusy,
            Self::LowPower { .. } => ErrorType::EndpointLowPower,
            Self::NotInCurrentMode { .. } => ErrorType::NotSupportedInCurrentMode,
            Self::NotInOperation(_) => ErrorType::NotInOperation,
            Self::Thermostat(e) => match e {
                ThermostatError::IsOff => ErrorType::ThermostatIsOff,
                ThermostatError::UnsupportedMode(_) => ErrorType::UnsupportedThermostatMode,
                ThermostatError::DualUnsupported => ErrorType::DualSetpointsUnsupported,
                ThermostatError::TripleUnsupported => ErrorType::TripleSetpointsUnsupported,
                ThermostatError::TooClose { .. } => ErrorType::RequestedSetpointsTooClose,
            },
            Self::Panel(refusal) => panel_error_type(refusal),
            Self::Cloud(e) => match e {
                CloudError::Unreachable(_) => ErrorType::EndpointUnreachable,
                CloudError::Busy => ErrorType::EndpointBusy,
                CloudError::LowPower { .. } => ErrorType::EndpointLowPower,
                CloudError::NoSuchDevice => ErrorType::NoSuchEndpoint,
                CloudError::Refused(_) | CloudError::Failed(_) => ErrorType::InternalError,
                CloudError::Panel(refusal) => panel_error_type(refusal),
            },
            Self::Store(_) | Self::OutOfTime | Self::Lwa(_) | Self::Serialize(_) => {
                ErrorType::InternalError
            }
        }
    }

    /// Whether this is the skill's fault (logged at ERROR) rather than the caller's.
    pub fn is_internal(&self) -> bool {
        self.error_type() == ErrorType::InternalError
    }

    /// The answer Alexa gets. Internal causes are replaced by a generic message.
    pub fn to_response(&self, reply_to: &ReplyTo) -> Message<ErrorPayload> {
        let to = Addressing {
            correlation_token: reply_to.correlation_token.clone(),
            endpoint_id: reply_to.endpoint_id.clone(),
        };
        let message = if self.is_internal() {
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        // The Alexa.Authorization ErrorResponse knows only one type.
        let kind = if reply_to.authorization {
            ErrorType::AcceptGrantFailed
        } else {
            self.error_type()
        };
        let valid_range = match *self {
            Self::ValueOutOfRange { min, max, .. } => Some(ValidRange {
                minimum_value: json!(min),
                maximum_value: json!(max),
            }),
            Self::TemperatureOutOfRange {
                min, max, scale, ..
            } => Some(ValidRange {
                minimum_value: json!({"value": min, "scale": scale.alexa_name()}),
                maximum_value: json!({"value": max, "scale": scale.alexa_name()}),
            }),
            _ => None,
        };
        let namespace = match self {
            _ if reply_to.authorization => Interface::Authorization,
            Self::Thermostat(_) => Interface::Thermostat,
            Self::Panel(_) | Self::Cloud(CloudError::Panel(_)) => Interface::SecurityPanel,
            _ => Interface::Alexa,
        };
        let mut response = event::error_response(&to, namespace, kind, message, valid_range);
        match *self {
            Self::LowPower { percentage } | Self::Cloud(CloudError::LowPower { percentage }) => {
                response.event.payload.percentage_state = percentage
            }
            Self::Thermostat(ThermostatError::TooClose { delta, scale }) => {
                response.event.payload.minimum_temperature_delta =
                    Some(json!({"value": delta, "scale": scale.alexa_name()}));
            }
            Self::NotInCurrentMode { mode, .. } => {
                response.event.payload.current_device_mode = Some(mode);
            }
            Self::Panel(PanelRefusal::BypassNeeded(ref zones))
            | Self::Cloud(CloudError::Panel(PanelRefusal::BypassNeeded(ref zones))) => {
                response.event.payload.endpoints_needing_bypass = Some(
                    zones
                        .iter()
                        .map(|z| BypassEndpoint {
                            friendly_name: z.name.clone(),
                            endpoint_id: z.endpoint_id.clone(),
                        })
                        .collect(),
                );
            }
            _ => {}
        }
        response
    }
}

fn panel_error_type(refusal: &PanelRefusal) -> ErrorType {
    match refusal {
        PanelRefusal::Unauthorized => ErrorType::Unauthorized,
        PanelRefusal::AuthorizationRequired => ErrorType::AuthorizationRequired,
        PanelRefusal::NotReady => ErrorType::NotReady,
        PanelRefusal::BypassNeeded(_) => ErrorType::BypassNeeded,
        PanelRefusal::UnclearedAlarm => ErrorType::UnclearedAlarm,
        PanelRefusal::UnclearedTrouble => ErrorType::UnclearedTrouble,
    }
}

/// What a thermostat refuses, answered in `Alexa.ThermostatController`'s own ErrorResponse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThermostatError {
    /// `THERMOSTAT_IS_OFF`: a setpoint change while it is off (it does not turn itself on).
    #[error("the thermostat is off")]
    IsOff,
    /// `UNSUPPORTED_THERMOSTAT_MODE`.
    #[error("the thermostat has no mode {0:?}")]
    UnsupportedMode(String),
    /// `DUAL_SETPOINTS_UNSUPPORTED`: lower and upper setpoints for a single-setpoint thermostat.
    #[error("the thermostat has a single setpoint")]
    DualUnsupported,
    /// `TRIPLE_SETPOINTS_UNSUPPORTED`: three setpoints for one that has fewer.
    #[error("the thermostat does not take three setpoints")]
    TripleUnsupported,
    /// `REQUESTED_SETPOINTS_TOO_CLOSE` with `minimumTemperatureDelta`.
    #[error("the setpoints must be at least {delta} apart")]
    TooClose { delta: f64, scale: TemperatureScale },
}
