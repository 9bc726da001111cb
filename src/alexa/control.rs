//! Control directives: the commands Alexa sends to change an endpoint, with typed payloads.
//! Values are parsed as sent; whether they are in range is the handler's question, so that an
//! out-of-range value is answered `VALUE_OUT_OF_RANGE`, not `INVALID_DIRECTIVE`.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Secret;
use super::camera::{SessionDescription, StreamRequest};
use super::interface::Interface;
use super::media::{Band, PlaybackOperation};
use super::parse_error::ParseError;
use super::security::{ArmState, FOUR_DIGIT_PIN};

/// One control directive.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    TurnOn,
    TurnOff,
    SetBrightness(i64),
    AdjustBrightness(i64),
    SetPercentage(i64),
    AdjustPercentage(i64),
    SetPowerLevel(i64),
    AdjustPowerLevel(i64),
    SetColor(Color),
    SetColorTemperature(i64),
    IncreaseColorTemperature,
    DecreaseColorTemperature,
    /// One, two or three setpoints, as the customer asked.
    SetTargetTemperature(SetpointRequest),
    AdjustTargetTemperature(Temperature),
    SetThermostatMode(String),
    Lock,
    Unlock,
    Activate,
    Deactivate,
    SetVolume(i64),
    /// A change of volume; `default` when the customer gave no amount ("turn it up").
    AdjustVolume {
        delta: i64,
        default: bool,
    },
    SetMute(bool),
    /// `Alexa.RangeController`, for one instance.
    SetRangeValue {
        instance: String,
        value: f64,
    },
    /// A change of a range; `default` when the customer gave no amount, and the device's own
    /// step is used instead of `delta`'s size.
    AdjustRangeValue {
        instance: String,
        delta: f64,
        default: bool,
    },
    /// `Alexa.ModeController`, for one instance.
    SetMode {
        instance: String,
        mode: String,
    },
    /// Steps through an ordered mode list.
    AdjustMode {
        instance: String,
        delta: i64,
    },
    /// `Alexa.ToggleController` `TurnOn` / `TurnOff`, for one instance.
    SetToggle {
        instance: String,
        on: bool,
    },
    /// `Alexa.StepSpeaker` `AdjustVolume`: up (positive) or down by steps; `default` when the
    /// customer said no number.
    AdjustVolumeSteps {
        steps: i64,
        default: bool,
    },
    /// `Alexa.StepSpeaker` `SetMute`.
    SetStepMute(bool),
    /// `Alexa.PlaybackController`: one directive per operation.
    Playback(PlaybackOperation),
    /// `Alexa.SeekController` `AdjustSeekPosition`, by milliseconds (negative: back).
    AdjustSeekPosition(i64),
    /// `Alexa.InputController` `SelectInput`, as the customer named it.
    SelectInput(String),
    ChangeChannel(ChannelRequest),
    /// Channels up (positive) or down.
    SkipChannels(i64),
    /// `Alexa.EqualizerController` `SetBands`.
    SetBands(Vec<BandLevel>),
    /// `AdjustBands`: each band up or down, by its delta or the device's step.
    AdjustBands(Vec<BandDelta>),
    /// `ResetBands`: the bands back to the device's default level.
    ResetBands(Vec<Band>),
    /// `Alexa.EqualizerController` `SetMode`, as sent.
    SetEqualizerMode(String),
    /// `Alexa.TimeHoldController`.
    Hold,
    Resume,
    /// `Alexa.SecurityPanelController` `Arm`, in the state asked for.
    Arm(ArmState),
    /// `Disarm`, with the customer's PIN when the panel declared that it takes one.
    Disarm(Option<Secret>),
    /// `Alexa.CameraStreamController` `InitializeCameraStreams`: the streams Alexa asks for.
    InitializeCameraStreams(Vec<StreamRequest>),
    /// `Alexa.RTCSessionController` `InitiateSessionWithOffer`.
    InitiateSession {
        session_id: String,
        offer: SessionDescription,
    },
    /// `SessionConnected` (`true`) and `SessionDisconnected`.
    SessionState {
        session_id: String,
        connected: bool,
    },
}

/// The channel of a `ChangeChannel`: what Alexa resolved, and the name the customer said
/// (`channelMetadata.name`), which may be all there is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelRequest {
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub call_sign: Option<String>,
    #[serde(default)]
    pub affiliate_call_sign: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A band's new level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandLevel {
    pub band: Band,
    pub level: i64,
}

/// A band's change: the signed delta, or `None` for the device's own step in `up`'s direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandDelta {
    pub band: Band,
    pub delta: Option<i64>,
    pub up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Color {
    pub hue: f64,
    pub saturation: f64,
    pub brightness: f64,
}

/// The setpoints of a `SetTargetTemperature`: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetpointRequest {
    #[serde(default)]
    pub target_setpoint: Option<Temperature>,
    #[serde(default)]
    pub lower_setpoint: Option<Temperature>,
    #[serde(default)]
    pub upper_setpoint: Option<Temperature>,
}

/// A temperature (or a temperature difference) in the scale Alexa sent.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Temperature {
    pub value: f64,
    pub scale: Scale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scale {
    Celsius,
    Fahrenheit,
    Kelvin,
}

impl Temperature {
    pub fn celsius(self) -> f64 {
        match self.scale {
            Scale::Celsius => self.value,
            Scale::Fahrenheit => (self.value - 32.0) * 5.0 / 9.0,
            Scale::Kelvin => self.value - 273.15,
        }
    }

    /// The same difference in degrees Celsius (a Fahrenheit degree is 5/9 of one).
    pub fn celsius_delta(self) -> f64 {
        match self.scale {
            Scale::Celsius | Scale::Kelvin => self.value,
            Scale::Fahrenheit => self.value * 5.0 / 9.0,
        }
    }

    /// The temperature in degrees Fahrenheit; exact when it was sent in Fahrenheit.
    pub fn fahrenheit(self) -> f64 {
        match self.scale {
            Scale::Fahrenheit => self.value,
            _ => self.celsius() * 9.0 / 5.0 + 32.0,
        }
    }

    /// The same difference in degrees Fahrenheit.
    pub fn fahrenheit_delta(self) -> f64 {
        match self.scale {
            Scale::Fahrenheit => self.value,
            _ => self.celsius_delta() * 9.0 / 5.0,
        }
    }
}

impl Command {
    /// The command for a (namespace, name) and, for a generic controller, the header's
    /// `instance`, parsing its payload; `None` when the pair is no control directive this skill
    /// knows.
    pub fn parse(
        interface: Interface,
        name: &str,
        instance: Option<&str>,
        payload: &str,
    ) -> Option<Result<Self, ParseError>> {
        let instance = || {
            instance
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| ParseError::Malformed {
                    part: "header",
                    reason: format!("{interface} directives name an instance"),
                })
        };
        Some(match (interface, name) {
            (Interface::Range, "SetRangeValue") => instance().and_then(|instance| {
                field::<RangeValue>(payload).map(|p| Self::SetRangeValue {
                    instance,
                    value: p.range_value,
                })
            }),
            (Interface::Range, "AdjustRangeValue") => instance().and_then(|instance| {
                field::<RangeValueDelta>(payload).map(|p| Self::AdjustRangeValue {
                    instance,
                    delta: p.range_value_delta,
                    default: p.range_value_delta_default,
                })
            }),
            (Interface::Mode, "SetMode") => instance().and_then(|instance| {
                field::<Mode>(payload).map(|p| Self::SetMode {
                    instance,
                    mode: p.mode,
                })
            }),
            (Interface::Mode, "AdjustMode") => instance().and_then(|instance| {
                field::<ModeDelta>(payload).map(|p| Self::AdjustMode {
                    instance,
                    delta: p.mode_delta,
                })
            }),
            (Interface::Toggle, "TurnOn" | "TurnOff") => {
                instance().map(|instance| Self::SetToggle {
                    instance,
                    on: name == "TurnOn",
                })
            }
            (Interface::Power, "TurnOn") => Ok(Self::TurnOn),
            (Interface::Power, "TurnOff") => Ok(Self::TurnOff),
            (Interface::Brightness, "SetBrightness") => {
                field::<Brightness>(payload).map(|p| Self::SetBrightness(p.brightness))
            }
            (Interface::Brightness, "AdjustBrightness") => field::<BrightnessDelta>(payload)
                .map(|p| Self::AdjustBrightness(p.brightness_delta)),
            (Interface::Percentage, "SetPercentage") => {
                field::<Percentage>(payload).map(|p| Self::SetPercentage(p.percentage))
            }
            (Interface::Percentage, "AdjustPercentage") => field::<PercentageDelta>(payload)
                .map(|p| Self::AdjustPercentage(p.percentage_delta)),
            (Interface::PowerLevel, "SetPowerLevel") => {
                field::<PowerLevel>(payload).map(|p| Self::SetPowerLevel(p.power_level))
            }
            (Interface::PowerLevel, "AdjustPowerLevel") => field::<PowerLevelDelta>(payload)
                .map(|p| Self::AdjustPowerLevel(p.power_level_delta)),
            (Interface::Color, "SetColor") => {
                field::<SetColor>(payload).map(|p| Self::SetColor(p.color))
            }
            (Interface::ColorTemperature, "SetColorTemperature") => {
                field::<ColorTemperature>(payload)
                    .map(|p| Self::SetColorTemperature(p.color_temperature_in_kelvin))
            }
            (Interface::ColorTemperature, "IncreaseColorTemperature") => {
                Ok(Self::IncreaseColorTemperature)
            }
            (Interface::ColorTemperature, "DecreaseColorTemperature") => {
                Ok(Self::DecreaseColorTemperature)
            }
            (Interface::Thermostat, "SetTargetTemperature") => field::<SetpointRequest>(payload)
                .and_then(|p| {
                    if p.target_setpoint.is_none()
                        && p.lower_setpoint.is_none()
                        && p.upper_setpoint.is_none()
                    {
                        Err(ParseError::Malformed {
                            part: "payload",
                            reason: "no setpoint".into(),
                        })
                    } else {
                        Ok(Self::SetTargetTemperature(p))
                    }
                }),
            (Interface::Thermostat, "AdjustTargetTemperature") => {
                field::<TargetSetpointDelta>(payload)
                    .map(|p| Self::AdjustTargetTemperature(p.target_setpoint_delta))
            }
            (Interface::Thermostat, "SetThermostatMode") => field::<ThermostatMode>(payload)
                .map(|p| Self::SetThermostatMode(p.thermostat_mode.value)),
            (Interface::Lock, "Lock") => Ok(Self::Lock),
            (Interface::Lock, "Unlock") => Ok(Self::Unlock),
            (Interface::Scene, "Activate") => Ok(Self::Activate),
            (Interface::Scene, "Deactivate") => Ok(Self::Deactivate),
            (Interface::Speaker, "SetVolume") => {
                field::<Volume>(payload).map(|p| Self::SetVolume(p.volume))
            }
            (Interface::Speaker, "AdjustVolume") => {
                field::<VolumeDelta>(payload).map(|p| Self::AdjustVolume {
                    delta: p.volume,
                    default: p.volume_default,
                })
            }
            (Interface::Speaker, "SetMute") => {
                field::<Mute>(payload).map(|p| Self::SetMute(p.mute))
            }
            (Interface::StepSpeaker, "AdjustVolume") => {
                field::<VolumeSteps>(payload).map(|p| Self::AdjustVolumeSteps {
                    steps: p.volume_steps,
                    default: p.volume_steps_default,
                })
            }
            (Interface::StepSpeaker, "SetMute") => {
                field::<Mute>(payload).map(|p| Self::SetStepMute(p.mute))
            }
            (Interface::Playback, name) => match PlaybackOperation::parse(name) {
                Some(operation) => Ok(Self::Playback(operation)),
                None => return None,
            },
            (Interface::Seek, "AdjustSeekPosition") => field::<SeekDelta>(payload)
                .map(|p| Self::AdjustSeekPosition(p.delta_position_milliseconds)),
            (Interface::Input, "SelectInput") => {
                field::<Input>(payload).map(|p| Self::SelectInput(p.input))
            }
            (Interface::Channel, "ChangeChannel") => {
                field::<ChangeChannel>(payload).and_then(|p| {
                    let mut channel = p.channel.unwrap_or_default();
                    channel.name = p.channel_metadata.and_then(|m| m.name);
                    let named = [
                        &channel.number,
                        &channel.call_sign,
                        &channel.affiliate_call_sign,
                        &channel.uri,
                        &channel.name,
                    ]
                    .iter()
                    .any(|f| f.as_deref().is_some_and(|v| !v.is_empty()));
                    if named {
                        Ok(Self::ChangeChannel(channel))
                    } else {
                        Err(ParseError::Malformed {
                            part: "payload",
                            reason: "the channel names no channel".into(),
                        })
                    }
                })
            }
            (Interface::Channel, "SkipChannels") => {
                field::<SkipChannels>(payload).map(|p| Self::SkipChannels(p.channel_count))
            }
            (Interface::Equalizer, "SetBands") => field::<Bands<SetBand>>(payload).and_then(|p| {
                bands(
                    p.bands,
                    |b| b.name,
                    |b| BandLevel {
                        band: b.name,
                        level: b.value,
                    },
                )
                .map(Self::SetBands)
            }),
            (Interface::Equalizer, "AdjustBands") => {
                field::<Bands<AdjustBand>>(payload).and_then(|p| {
                    bands(
                        p.bands,
                        |b| b.name,
                        |b| {
                            let up = b.level_direction == Direction::Up;
                            BandDelta {
                                band: b.name,
                                delta: b.level_delta.map(|d| if up { d } else { -d }),
                                up,
                            }
                        },
                    )
                    .map(Self::AdjustBands)
                })
            }
            (Interface::Equalizer, "ResetBands") => field::<Bands<ResetBand>>(payload)
                .and_then(|p| bands(p.bands, |b| b.name, |b| b.name).map(Self::ResetBands)),
            (Interface::Equalizer, "SetMode") => {
                field::<Mode>(payload).map(|p| Self::SetEqualizerMode(p.mode))
            }
            (Interface::SecurityPanel, "Arm") => {
                field::<Arm>(payload).map(|p| Self::Arm(p.arm_state))
            }
            (Interface::SecurityPanel, "Disarm") => {
                field::<Disarm>(payload).and_then(|p| match p.authorization {
                    None => Ok(Self::Disarm(None)),
                    Some(a) if a.kind == FOUR_DIGIT_PIN => Ok(Self::Disarm(Some(a.value))),
                    Some(_) => Err(ParseError::Malformed {
                        part: "payload",
                        reason: "an authorization of an unknown type".into(),
                    }),
                })
            }
            (Interface::CameraStream, "InitializeCameraStreams") => {
                field::<InitializeStreams>(payload).and_then(|p| {
                    if p.camera_streams.is_empty() {
                        Err(ParseError::Malformed {
                            part: "payload",
                            reason: "no camera streams asked for".into(),
                        })
                    } else {
                        Ok(Self::InitializeCameraStreams(p.camera_streams))
                    }
                })
            }
            (Interface::RtcSession, "InitiateSessionWithOffer") => {
                field::<Offer>(payload).map(|p| Self::InitiateSession {
                    session_id: p.session_id,
                    offer: p.offer,
                })
            }
            (Interface::RtcSession, "SessionConnected" | "SessionDisconnected") => {
                field::<Session>(payload).map(|p| Self::SessionState {
                    session_id: p.session_id,
                    connected: name == "SessionConnected",
                })
            }
            (Interface::TimeHold, "Hold") => Ok(Self::Hold),
            (Interface::TimeHold, "Resume") => Ok(Self::Resume),
            _ => return None,
        })
    }

    /// The interface this command belongs to, as discovery declares it, with the instance
    /// for a generic controller.
    pub fn target(&self) -> (Interface, Option<&str>) {
        let interface = match self {
            Self::TurnOn | Self::TurnOff => Interface::Power,
            Self::SetBrightness(_) | Self::AdjustBrightness(_) => Interface::Brightness,
            Self::SetPercentage(_) | Self::AdjustPercentage(_) => Interface::Percentage,
            Self::SetPowerLevel(_) | Self::AdjustPowerLevel(_) => Interface::PowerLevel,
            Self::SetColor(_) => Interface::Color,
            Self::SetColorTemperature(_)
            | Self::IncreaseColorTemperature
            | Self::DecreaseColorTemperature => Interface::ColorTemperature,
            Self::SetTargetTemperature(_)
            | Self::AdjustTargetTemperature(_)
            | Self::SetThermostatMode(_) => Interface::Thermostat,
            Self::Lock | Self::Unlock => Interface::Lock,
            Self::Activate | Self::Deactivate => Interface::Scene,
            Self::SetVolume(_) | Self::AdjustVolume { .. } | Self::SetMute(_) => Interface::Speaker,
            Self::SetRangeValue { instance, .. } | Self::AdjustRangeValue { instance, .. } => {
                return (Interface::Range, Some(instance));
            }
            Self::SetMode { instance, .. } | Self::AdjustMode { instance, .. } => {
                return (Interface::Mode, Some(instance));
            }
            Self::SetToggle { instance, .. } => return (Interface::Toggle, Some(instance)),
            Self::AdjustVolumeSteps { .. } | Self::SetStepMute(_) => Interface::StepSpeaker,
            Self::Playback(_) => Interface::Playback,
            Self::AdjustSeekPosition(_) => Interface::Seek,
            Self::SelectInput(_) => Interface::Input,
            Self::ChangeChannel(_) | Self::SkipChannels(_) => Interface::Channel,
            Self::SetBands(_)
            | Self::AdjustBands(_)
            | Self::ResetBands(_)
            | Self::SetEqualizerMode(_) => Interface::Equalizer,
            Self::Hold | Self::Resume => Interface::TimeHold,
            Self::Arm(_) | Self::Disarm(_) => Interface::SecurityPanel,
            Self::InitializeCameraStreams(_) => Interface::CameraStream,
            Self::InitiateSession { .. } | Self::SessionState { .. } => Interface::RtcSession,
        };
        (interface, None)
    }
}

impl Command {
    /// The customer's PIN, if the command carries one.
    pub fn pin(&self) -> Option<&Secret> {
        match self {
            Self::Disarm(pin) => pin.as_ref(),
            _ => None,
        }
    }

    /// Whether it asks a camera for its view: answered by the maker's API, not by a state
    /// change.
    pub fn is_camera(&self) -> bool {
        matches!(
            self.target().0,
            Interface::CameraStream | Interface::RtcSession
        )
    }

    /// Whether it is one of a TV's or an audio device's, which the device takes only while on.
    pub fn is_media(&self) -> bool {
        matches!(
            self.target().0,
            Interface::StepSpeaker
                | Interface::Playback
                | Interface::Seek
                | Interface::Input
                | Interface::Channel
                | Interface::Equalizer
        )
    }
}

fn field<T: DeserializeOwned>(payload: &str) -> Result<T, ParseError> {
    super::parse_error::from_part("payload", payload)
}

#[derive(Deserialize)]
struct Brightness {
    brightness: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BrightnessDelta {
    brightness_delta: i64,
}

#[derive(Deserialize)]
struct Percentage {
    percentage: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PercentageDelta {
    percentage_delta: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PowerLevel {
    power_level: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PowerLevelDelta {
    power_level_delta: i64,
}

#[derive(Deserialize)]
struct SetColor {
    color: Color,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ColorTemperature {
    color_temperature_in_kelvin: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetSetpointDelta {
    target_setpoint_delta: Temperature,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThermostatMode {
    thermostat_mode: ModeValue,
}

#[derive(Deserialize)]
struct ModeValue {
    value: String,
}

#[derive(Deserialize)]
struct Volume {
    volume: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VolumeDelta {
    volume: i64,
    #[serde(default)]
    volume_default: bool,
}

#[derive(Deserialize)]
struct Mute {
    mute: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RangeValue {
    range_value: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RangeValueDelta {
    range_value_delta: f64,
    #[serde(default)]
    range_value_delta_default: bool,
}

#[derive(Deserialize)]
struct Mode {
    mode: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModeDelta {
    mode_delta: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeStreams {
    camera_streams: Vec<StreamRequest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Offer {
    session_id: String,
    offer: SessionDescription,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    session_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arm {
    arm_state: ArmState,
}

#[derive(Deserialize)]
struct Disarm {
    #[serde(default)]
    authorization: Option<Authorization>,
}

/// The PIN is a [`Secret`], so that no `Debug` of a command can print it.
#[derive(Deserialize)]
struct Authorization {
    #[serde(rename = "type")]
    kind: String,
    value: Secret,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VolumeSteps {
    volume_steps: i64,
    #[serde(default)]
    volume_steps_default: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeekDelta {
    delta_position_milliseconds: i64,
}

#[derive(Deserialize)]
struct Input {
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeChannel {
    #[serde(default)]
    channel: Option<ChannelRequest>,
    #[serde(default)]
    channel_metadata: Option<ChannelMetadata>,
}

#[derive(Deserialize)]
struct ChannelMetadata {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SkipChannels {
    channel_count: i64,
}

#[derive(Deserialize)]
struct Bands<B> {
    bands: Vec<B>,
}

#[derive(Deserialize)]
struct SetBand {
    name: Band,
    value: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdjustBand {
    name: Band,
    #[serde(default)]
    level_delta: Option<i64>,
    level_direction: Direction,
}

#[derive(Deserialize)]
struct ResetBand {
    name: Band,
}

#[derive(Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Direction {
    Up,
    Down,
}

/// The bands of an equalizer directive: at least one, each once.
fn bands<B, T>(
    list: Vec<B>,
    band: impl Fn(&B) -> Band,
    each: impl Fn(&B) -> T,
) -> Result<Vec<T>, ParseError> {
    let malformed = |reason: &str| ParseError::Malformed {
        part: "payload",
        reason: reason.into(),
    };
    if list.is_empty() {
        return Err(malformed("no bands"));
    }
    for (i, b) in list.iter().enumerate() {
        if list[..i].iter().any(|o| band(o) == band(b)) {
            return Err(malformed("a band is named twice"));
        }
    }
    Ok(list.iter().map(each).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_payloads() {
        assert_eq!(
            Command::parse(
                Interface::Brightness,
                "AdjustBrightness",
                None,
                r#"{"brightnessDelta": -25}"#
            ),
            Some(Ok(Command::AdjustBrightness(-25)))
        );
        assert_eq!(
            Command::parse(
                Interface::Thermostat,
                "SetThermostatMode",
                None,
                r#"{"thermostatMode": {"value": "COOL"}}"#
            ),
            Some(Ok(Command::SetThermostatMode("COOL".into())))
        );
        assert!(
            Command::parse(
                Interface::Brightness,
                "SetBrightness",
                None,
                r#"{"brightness": "high"}"#
            )
            .unwrap()
            .is_err()
        );
        assert!(
            Command::parse(
                Interface::Thermostat,
                "SetTargetTemperature",
                None,
                r#"{"lowerSetpoint": {"value": 20, "scale": "CELSIUS"}}"#
            )
            .unwrap()
            .is_ok()
        );
        assert!(
            Command::parse(Interface::Thermostat, "SetTargetTemperature", None, r#"{}"#)
                .unwrap()
                .is_err()
        );
        assert_eq!(
            Command::parse(Interface::Power, "Explode", None, "{}"),
            None
        );
    }

    #[test]
    fn temperatures_convert_to_celsius() {
        let f = Temperature {
            value: 68.0,
            scale: Scale::Fahrenheit,
        };
        assert!((f.celsius() - 20.0).abs() < 1e-9);
        let k = Temperature {
            value: 293.15,
            scale: Scale::Kelvin,
        };
        assert!((k.celsius() - 20.0).abs() < 1e-9);
        let df = Temperature {
            value: 9.0,
            scale: Scale::Fahrenheit,
        };
        assert!((df.celsius_delta() - 5.0).abs() < 1e-9);
    }
}
