//! A device's reportable properties as Alexa names them: what `context` and `ChangeReport`
//! carry, with when each value was sampled.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Connectivity, Device, DeviceCapability, DeviceState, LockState};
use crate::alexa::event::PropertyState;

/// The device-model key of connectivity in `sampledAt`.
pub const CONNECTIVITY: &str = "connectivity";

/// The uncertainty reported for a value whose sample time is not recorded (seeded or written by
/// an older device cloud): an hour, so that Alexa does not take it for fresh.
pub const UNKNOWN_UNCERTAINTY_MS: i64 = 3_600_000;

/// A reportable property and the device-state field it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub field: &'static str,
    pub state: PropertyState,
}

/// `timeOfSample`: UTC, `Z`, millisecond precision.
pub fn time_of_sample(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Every reportable property the device has a value for, in declaration order, and its
/// connectivity (always). Values the device never reported are left out, not invented.
pub fn reportable(device: &Device, now_ms: i64) -> Vec<Reported> {
    values(device)
        .into_iter()
        .map(|(namespace, name, field, value)| Reported {
            field,
            state: property(device, (namespace, name, field, value), now_ms),
        })
        .collect()
}

/// A reportable value: namespace, property name, state field, value.
pub type ReportedValue = (&'static str, &'static str, &'static str, Value);

/// The reportable values alone, without sample times: what is compared to tell a change.
pub fn values(device: &Device) -> Vec<ReportedValue> {
    let mut out: Vec<ReportedValue> = Vec::with_capacity(device.capabilities.len() + 1);
    let s = &device.state;
    for capability in &device.capabilities {
        for &(namespace, name, field) in properties_of(capability) {
            let Some(value) = value_of(s, field) else {
                continue;
            };
            if !out.iter().any(|r| r.0 == namespace && r.1 == name) {
                out.push((namespace, name, field, value));
            }
        }
    }
    let connectivity = match device.connectivity {
        Connectivity::Ok => "OK",
        Connectivity::Unreachable => "UNREACHABLE",
    };
    out.push((
        "Alexa.EndpointHealth",
        "connectivity",
        CONNECTIVITY,
        json!({ "value": connectivity }),
    ));
    out
}

/// A reportable value with its `timeOfSample` and, measured at `now_ms`, its uncertainty (the
/// value's age).
pub fn property(
    device: &Device,
    (namespace, name, field, value): ReportedValue,
    now_ms: i64,
) -> PropertyState {
    let (sampled, uncertainty) = match device.sampled_at.get(field) {
        Some(&at) => (at, (now_ms - at).max(0)),
        None => (now_ms, UNKNOWN_UNCERTAINTY_MS),
    };
    PropertyState {
        namespace,
        instance: None,
        name,
        value,
        time_of_sample: time_of_sample(sampled),
        uncertainty_in_milliseconds: u64::try_from(uncertainty).unwrap_or(0),
    }
}

/// The (namespace, property, state field) triples one capability reports.
pub fn properties_of(
    capability: &DeviceCapability,
) -> &'static [(&'static str, &'static str, &'static str)] {
    match capability {
        DeviceCapability::Power => &[("Alexa.PowerController", "powerState", "powerOn")],
        DeviceCapability::Brightness => {
            &[("Alexa.BrightnessController", "brightness", "brightness")]
        }
        DeviceCapability::Percentage => {
            &[("Alexa.PercentageController", "percentage", "percentage")]
        }
        DeviceCapability::Color => &[("Alexa.ColorController", "color", "color")],
        DeviceCapability::ColorTemperature => &[(
            "Alexa.ColorTemperatureController",
            "colorTemperatureInKelvin",
            "colorTemperatureKelvin",
        )],
        DeviceCapability::Thermostat { .. } => &[
            (
                "Alexa.ThermostatController",
                "targetSetpoint",
                "targetSetpoint",
            ),
            (
                "Alexa.ThermostatController",
                "thermostatMode",
                "thermostatMode",
            ),
            ("Alexa.TemperatureSensor", "temperature", "temperature"),
        ],
        DeviceCapability::TemperatureSensor => {
            &[("Alexa.TemperatureSensor", "temperature", "temperature")]
        }
        DeviceCapability::Lock => &[("Alexa.LockController", "lockState", "lockState")],
        DeviceCapability::Speaker => &[
            ("Alexa.Speaker", "volume", "volume"),
            ("Alexa.Speaker", "muted", "muted"),
        ],
        DeviceCapability::Scene { .. } | DeviceCapability::Unknown => &[],
    }
}

/// A state field's value as Alexa reports it.
fn value_of(s: &DeviceState, field: &str) -> Option<Value> {
    let celsius = |v: f64| json!({ "value": v, "scale": "CELSIUS" });
    match field {
        "powerOn" => s.power_on.map(|on| json!(if on { "ON" } else { "OFF" })),
        "brightness" => s.brightness.map(|v| json!(v)),
        "percentage" => s.percentage.map(|v| json!(v)),
        "color" => s
            .color
            .map(|c| json!({"hue": c.hue, "saturation": c.saturation, "brightness": c.brightness})),
        "colorTemperatureKelvin" => s.color_temperature_kelvin.map(|v| json!(v)),
        "targetSetpoint" => s.target_setpoint.map(celsius),
        "thermostatMode" => s.thermostat_mode.as_ref().map(|m| json!(m)),
        "temperature" => s.temperature.map(celsius),
        "lockState" => s.lock_state.map(|l| {
            json!(match l {
                LockState::Locked => "LOCKED",
                LockState::Unlocked => "UNLOCKED",
                LockState::Jammed => "JAMMED",
            })
        }),
        "volume" => s.volume.map(|v| json!(v)),
        "muted" => s.muted.map(|v| json!(v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lamp() -> Device {
        serde_json::from_value(json!({
            "userId": "u", "endpointId": "lamp", "name": "Lamp", "description": "d", "manufacturer": "m",
            "category": "LIGHT", "capabilities": [{"type": "power"}, {"type": "brightness"}, {"type": "power"}],
            "state": {"powerOn": true},
            "sampledAt": {"powerOn": 1_700_000_000_000_i64},
        }))
        .unwrap()
    }

    #[test]
    fn time_of_sample_format() {
        assert_eq!(
            time_of_sample(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            time_of_sample(1_700_000_000_000),
            "2023-11-14T22:13:20.000Z"
        );
    }

    #[test]
    fn reports_known_values_with_their_sample_time_and_connectivity() {
        let props = reportable(&lamp(), 1_700_000_002_000);
        let names: Vec<_> = props.iter().map(|p| p.state.name).collect();
        // brightness was never reported; power listed twice is reported once
        assert_eq!(names, ["powerState", "connectivity"]);
        assert_eq!(props[0].state.value, json!("ON"));
        assert_eq!(props[0].state.time_of_sample, "2023-11-14T22:13:20.000Z");
        assert_eq!(props[0].state.uncertainty_in_milliseconds, 2000);
        assert_eq!(props[1].state.value, json!({"value": "OK"}));
        assert_eq!(
            props[1].state.uncertainty_in_milliseconds,
            UNKNOWN_UNCERTAINTY_MS as u64
        );
    }
}
