//! Control directives: the commands Alexa sends to change an endpoint, with typed payloads.
//! Values are parsed as sent; whether they are in range is the handler's question, so that an
//! out-of-range value is answered `VALUE_OUT_OF_RANGE`, not `INVALID_DIRECTIVE`.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::interface::Interface;
use super::parse_error::ParseError;

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
        };
        (interface, None)
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
