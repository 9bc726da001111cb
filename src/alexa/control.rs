//! Control directives: the commands Alexa sends to change an endpoint, with typed payloads.
//! Values are parsed as sent; whether they are in range is the handler's question, so that an
//! out-of-range value is answered `VALUE_OUT_OF_RANGE`, not `INVALID_DIRECTIVE`.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::directive::ParseError;
use super::interface::Interface;

/// One control directive.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    TurnOn,
    TurnOff,
    SetBrightness(i64),
    AdjustBrightness(i64),
    SetPercentage(i64),
    AdjustPercentage(i64),
    SetColor(Color),
    SetColorTemperature(i64),
    IncreaseColorTemperature,
    DecreaseColorTemperature,
    SetTargetTemperature(Temperature),
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
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Color {
    pub hue: f64,
    pub saturation: f64,
    pub brightness: f64,
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
}

impl Command {
    /// The command for a (namespace, name), parsing its payload; `None` when the pair is no
    /// control directive this skill knows.
    pub fn parse(namespace: &str, name: &str, payload: &str) -> Option<Result<Self, ParseError>> {
        Some(match (namespace, name) {
            ("Alexa.PowerController", "TurnOn") => Ok(Self::TurnOn),
            ("Alexa.PowerController", "TurnOff") => Ok(Self::TurnOff),
            ("Alexa.BrightnessController", "SetBrightness") => {
                field::<Brightness>(payload).map(|p| Self::SetBrightness(p.brightness))
            }
            ("Alexa.BrightnessController", "AdjustBrightness") => field::<BrightnessDelta>(payload)
                .map(|p| Self::AdjustBrightness(p.brightness_delta)),
            ("Alexa.PercentageController", "SetPercentage") => {
                field::<Percentage>(payload).map(|p| Self::SetPercentage(p.percentage))
            }
            ("Alexa.PercentageController", "AdjustPercentage") => field::<PercentageDelta>(payload)
                .map(|p| Self::AdjustPercentage(p.percentage_delta)),
            ("Alexa.ColorController", "SetColor") => {
                field::<SetColor>(payload).map(|p| Self::SetColor(p.color))
            }
            ("Alexa.ColorTemperatureController", "SetColorTemperature") => {
                field::<ColorTemperature>(payload)
                    .map(|p| Self::SetColorTemperature(p.color_temperature_in_kelvin))
            }
            ("Alexa.ColorTemperatureController", "IncreaseColorTemperature") => {
                Ok(Self::IncreaseColorTemperature)
            }
            ("Alexa.ColorTemperatureController", "DecreaseColorTemperature") => {
                Ok(Self::DecreaseColorTemperature)
            }
            ("Alexa.ThermostatController", "SetTargetTemperature") => {
                field::<TargetSetpoint>(payload).and_then(|p| match p.target_setpoint {
                    Some(t) => Ok(Self::SetTargetTemperature(t)),
                    // Dual setpoints (lower/upper) are not declared in discovery.
                    None => Err(ParseError::Malformed {
                        part: "payload",
                        reason: "only targetSetpoint is supported".into(),
                    }),
                })
            }
            ("Alexa.ThermostatController", "AdjustTargetTemperature") => {
                field::<TargetSetpointDelta>(payload)
                    .map(|p| Self::AdjustTargetTemperature(p.target_setpoint_delta))
            }
            ("Alexa.ThermostatController", "SetThermostatMode") => field::<ThermostatMode>(payload)
                .map(|p| Self::SetThermostatMode(p.thermostat_mode.value)),
            ("Alexa.LockController", "Lock") => Ok(Self::Lock),
            ("Alexa.LockController", "Unlock") => Ok(Self::Unlock),
            ("Alexa.SceneController", "Activate") => Ok(Self::Activate),
            ("Alexa.SceneController", "Deactivate") => Ok(Self::Deactivate),
            ("Alexa.Speaker", "SetVolume") => {
                field::<Volume>(payload).map(|p| Self::SetVolume(p.volume))
            }
            ("Alexa.Speaker", "AdjustVolume") => {
                field::<VolumeDelta>(payload).map(|p| Self::AdjustVolume {
                    delta: p.volume,
                    default: p.volume_default,
                })
            }
            ("Alexa.Speaker", "SetMute") => field::<Mute>(payload).map(|p| Self::SetMute(p.mute)),
            _ => return None,
        })
    }

    /// The interface this command belongs to, as discovery declares it.
    pub fn interface(&self) -> Interface {
        match self {
            Self::TurnOn | Self::TurnOff => Interface::Power,
            Self::SetBrightness(_) | Self::AdjustBrightness(_) => Interface::Brightness,
            Self::SetPercentage(_) | Self::AdjustPercentage(_) => Interface::Percentage,
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
        }
    }
}

fn field<T: DeserializeOwned>(payload: &str) -> Result<T, ParseError> {
    super::directive::from_part("payload", payload)
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
struct TargetSetpoint {
    #[serde(default)]
    target_setpoint: Option<Temperature>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_payloads() {
        assert_eq!(
            Command::parse(
                "Alexa.BrightnessController",
                "AdjustBrightness",
                r#"{"brightnessDelta": -25}"#
            ),
            Some(Ok(Command::AdjustBrightness(-25)))
        );
        assert_eq!(
            Command::parse(
                "Alexa.ThermostatController",
                "SetThermostatMode",
                r#"{"thermostatMode": {"value": "COOL"}}"#
            ),
            Some(Ok(Command::SetThermostatMode("COOL".into())))
        );
        assert!(
            Command::parse(
                "Alexa.BrightnessController",
                "SetBrightness",
                r#"{"brightness": "high"}"#
            )
            .unwrap()
            .is_err()
        );
        assert!(
            Command::parse(
                "Alexa.ThermostatController",
                "SetTargetTemperature",
                r#"{"lowerSetpoint": {"value": 20, "scale": "CELSIUS"}}"#
            )
            .unwrap()
            .is_err()
        );
        assert_eq!(
            Command::parse("Alexa.PowerController", "Explode", "{}"),
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
