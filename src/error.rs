//! The skill's one error type and its one mapping to Alexa error responses.

use crate::alexa::directive::{ParseError, ReplyTo};
use serde_json::json;

use crate::alexa::event::{self, Addressing, ErrorPayload, ErrorType, Message, ValidRange};
use crate::lwa::LwaError;
use crate::store::StoreError;

/// Everything that can stop a directive from being carried out. Each variant's doc names the
/// Alexa error type it is answered with.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// `INVALID_DIRECTIVE`: the directive is malformed or not supported.
    #[error(transparent)]
    InvalidDirective(#[from] ParseError),
    /// `INVALID_AUTHORIZATION_CREDENTIAL`: the device cloud never issued this token (or revoked it).
    #[error("the access token is not known")]
    UnknownToken,
    /// `EXPIRED_AUTHORIZATION_CREDENTIAL`: Alexa should refresh the token and retry.
    #[error("the access token has expired")]
    ExpiredToken,
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
    /// `TEMPERATURE_VALUE_OUT_OF_RANGE` with `validRange` (Celsius).
    #[error("{celsius} °C is outside {min}..={max} °C")]
    TemperatureOutOfRange { celsius: f64, min: f64, max: f64 },
    /// `INVALID_VALUE`: a value the device does not know (a thermostat mode it lacks, …).
    #[error("{0}")]
    InvalidValue(String),
    /// `ENDPOINT_LOW_POWER` with `percentageState`: the device cloud says the battery is too
    /// low for the device to act.
    #[error("the device's battery is too low to act")]
    LowPower { percentage: Option<u8> },
    /// `ENDPOINT_BUSY`: other changes kept winning the race for this device's state.
    #[error("the device's state kept changing; gave up")]
    Busy,
    /// `INTERNAL_ERROR`: storage failed; the cause is logged, never sent.
    #[error(transparent)]
    Store(#[from] StoreError),
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
            Self::UnknownToken => ErrorType::InvalidAuthorizationCredential,
            Self::ExpiredToken => ErrorType::ExpiredAuthorizationCredential,
            Self::NoSuchEndpoint => ErrorType::NoSuchEndpoint,
            Self::Unreachable => ErrorType::EndpointUnreachable,
            Self::NotSupported(_) => ErrorType::InvalidDirective,
            Self::ValueOutOfRange { .. } => ErrorType::ValueOutOfRange,
            Self::TemperatureOutOfRange { .. } => ErrorType::TemperatureValueOutOfRange,
            Self::InvalidValue(_) => ErrorType::InvalidValue,
            Self::Busy => ErrorType::EndpointBusy,
            Self::LowPower { .. } => ErrorType::EndpointLowPower,
            Self::Store(_) | Self::Lwa(_) | Self::Serialize(_) => ErrorType::InternalError,
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
            Self::TemperatureOutOfRange { min, max, .. } => Some(ValidRange {
                minimum_value: json!({"value": min, "scale": "CELSIUS"}),
                maximum_value: json!({"value": max, "scale": "CELSIUS"}),
            }),
            _ => None,
        };
        let mut response =
            event::error_response(&to, reply_to.authorization, kind, message, valid_range);
        if let Self::LowPower { percentage } = *self {
            response.event.payload.percentage_state = percentage;
        }
        response
    }
}

/// Formats an error with its whole chain of causes, for the logs.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
