//! A device's reportable properties as Alexa names them: what `context` and `ChangeReport`
//! carry, with when each value was sampled.

use super::Device;
use super::catalogue::{Property, Value};
use crate::alexa::event::PropertyState;
use chrono::{DateTime, Utc};

/// The uncertainty reported for a value whose sample time is not recorded (seeded or written by
/// an older device cloud): an hour, so that Alexa does not take it for fresh.
pub const UNKNOWN_UNCERTAINTY_MS: i64 = 3_600_000;

/// `timeOfSample`: UTC, `Z`, millisecond precision.
pub fn time_of_sample(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Every reportable property the device has a value for, in declaration order, and its
/// connectivity (always). Values the device never reported are left out, not invented.
pub fn reportable(device: &Device, now_ms: i64) -> Vec<PropertyState> {
    values(device)
        .into_iter()
        .map(|reading| property(device, reading, now_ms))
        .collect()
}

/// A reportable property and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub property: Property,
    pub value: Value,
}

impl Reading {
    pub fn namespace(&self) -> &'static str {
        self.property.interface().namespace()
    }

    pub fn name(&self) -> &'static str {
        self.property.name()
    }
}

/// The reportable values alone, without sample times: what is compared to tell a change.
pub fn values(device: &Device) -> Vec<Reading> {
    let mut out: Vec<Reading> = Vec::with_capacity(device.definition.capabilities.len() + 1);
    for capability in &device.definition.capabilities {
        for property in capability.properties() {
            // A capability listed twice, or two declaring one property, report it once.
            if out.iter().any(|r| r.property == property) {
                continue;
            }
            if let Some(value) = property.read(device) {
                out.push(Reading { property, value });
            }
        }
    }
    out.push(Reading {
        property: Property::Connectivity,
        value: Value::Connectivity(device.connectivity),
    });
    out
}

/// A reportable value with its `timeOfSample` and, measured at `now_ms`, its uncertainty (the
/// value's age).
pub fn property(device: &Device, reading: Reading, now_ms: i64) -> PropertyState {
    let at = device
        .sampled_at
        .get(&reading.property.read_from(device))
        .copied();
    let (sampled, uncertainty) = match at {
        Some(at) => (at, (now_ms - at).max(0)),
        None => (now_ms, UNKNOWN_UNCERTAINTY_MS),
    };
    PropertyState {
        namespace: reading.namespace(),
        instance: reading.property.instance().map(str::to_owned),
        name: reading.name(),
        value: reading.value.to_json(),
        time_of_sample: time_of_sample(sampled),
        uncertainty_in_milliseconds: u64::try_from(uncertainty).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::device::Field;

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
        let names: Vec<_> = props.iter().map(|p| p.name).collect();
        // brightness was never reported; power listed twice is reported once
        assert_eq!(names, ["powerState", "connectivity"]);
        assert_eq!(props[0].value, json!("ON"));
        assert_eq!(props[0].time_of_sample, "2023-11-14T22:13:20.000Z");
        assert_eq!(props[0].uncertainty_in_milliseconds, 2000);
        assert_eq!(props[1].value, json!({"value": "OK"}));
        assert_eq!(
            props[1].uncertainty_in_milliseconds,
            UNKNOWN_UNCERTAINTY_MS as u64
        );
    }

    #[test]
    fn an_off_light_reads_zero_percent_as_old_as_its_power_state() {
        let mut lamp = lamp();
        lamp.state.power_on = Some(false);
        lamp.state.brightness = Some(60);
        lamp.sampled_at.insert(Field::Brightness, 1_700_000_000_000);
        lamp.sampled_at.insert(Field::PowerOn, 1_700_000_001_000);
        let props = reportable(&lamp, 1_700_000_002_000);
        assert_eq!(props[1].name, "brightness");
        assert_eq!(props[1].value, json!(0));
        assert_eq!(props[1].uncertainty_in_milliseconds, 1000);
        lamp.state.power_on = Some(true);
        assert_eq!(reportable(&lamp, 1_700_000_002_000)[1].value, json!(60));
        // A dimmer without a switch reads what it holds.
        lamp.definition
            .capabilities
            .retain(|c| !matches!(c, crate::device::DeviceCapability::Power));
        lamp.state.power_on = Some(false);
        assert_eq!(reportable(&lamp, 1_700_000_002_000)[0].value, json!(60));
    }
}
