//! Which cases of a plan apply to a device, and whether a reported value is the expected one.

use alexa_smart_home::device::{Device, DeviceCapability, Setpoints};
use serde_json::Value;

use super::plans::{Case, Compare, PlanDirective, State};

/// Whether `case` can be run against `device`, and if not, why: a case that needs an
/// interface the device does not declare, a thermostat mode it lacks, a scale it does not work
/// in, or a value outside its range is not one Amazon would run against it either.
pub fn applies(device: &Device, case: &Case) -> Result<(), String> {
    let declared: Vec<&'static str> = device
        .definition
        .capabilities
        .iter()
        .flat_map(|c| c.interfaces())
        .map(|(interface, _)| interface.namespace())
        .collect();
    for namespace in case.namespaces() {
        if !declared.contains(&namespace) {
            return Err(format!("the device does not declare {namespace}"));
        }
    }
    for directive in case.directives() {
        fits(device, directive)?;
    }
    for wanted in &case.expected_capability_states {
        reachable(device, wanted)?;
    }
    Ok(())
}

/// An expected white the bulb cannot show: cooler than its coolest, warmer than its warmest.
fn reachable(device: &Device, wanted: &State) -> Result<(), String> {
    for capability in &device.definition.capabilities {
        if let DeviceCapability::ColorTemperature {
            min_kelvin,
            max_kelvin,
        } = capability
            && wanted.name == "colorTemperatureInKelvin"
        {
            let kelvin = wanted.value.as_f64().unwrap_or(0.0);
            let beyond = match wanted.compare {
                Compare::GreaterThan => kelvin >= f64::from(*max_kelvin),
                Compare::LessThan => kelvin <= f64::from(*min_kelvin),
                Compare::EqualTo => false,
            };
            if beyond {
                return Err(format!(
                    "it expects a white beyond {kelvin} K; the bulb shows {min_kelvin}–{max_kelvin} K"
                ));
            }
        }
    }
    Ok(())
}

/// A directive's values against the device's declaration.
fn fits(device: &Device, directive: &PlanDirective) -> Result<(), String> {
    let payload = directive.payload.as_ref().unwrap_or(&Value::Null);
    for capability in &device.definition.capabilities {
        match capability {
            DeviceCapability::ColorTemperature {
                min_kelvin,
                max_kelvin,
            } if directive.header.name == "SetColorTemperature" => {
                let kelvin = payload["colorTemperatureInKelvin"].as_f64().unwrap_or(0.0);
                if !(f64::from(*min_kelvin)..=f64::from(*max_kelvin)).contains(&kelvin) {
                    return Err(format!(
                        "it needs {kelvin} K; the bulb shows {min_kelvin}–{max_kelvin} K"
                    ));
                }
            }
            DeviceCapability::Thermostat {
                modes,
                min_setpoint,
                max_setpoint,
                scale,
                setpoints,
                ..
            } if directive.header.namespace == "Alexa.ThermostatController" => {
                let target = ["targetSetpoint", "targetSetpointDelta"]
                    .iter()
                    .any(|k| payload.get(k).is_some());
                if target && *setpoints == Setpoints::Dual {
                    return Err("the thermostat has no target setpoint (dual setpoints)".into());
                }
                if let Some(mode) = payload
                    .pointer("/thermostatMode/value")
                    .and_then(Value::as_str)
                    && !modes.iter().any(|m| m == mode)
                {
                    return Err(format!("the thermostat has no {mode} mode"));
                }
                for (key, temperature) in payload.as_object().into_iter().flatten() {
                    let Some(plan_scale) = temperature.get("scale").and_then(Value::as_str) else {
                        continue;
                    };
                    let device_scale = scale.alexa_name();
                    if plan_scale != device_scale {
                        return Err(format!(
                            "the plan is in {plan_scale}; the thermostat works in {device_scale}"
                        ));
                    }
                    let value = temperature["value"].as_f64().unwrap_or(0.0);
                    if key != "targetSetpointDelta"
                        && !(*min_setpoint..=*max_setpoint).contains(&value)
                    {
                        return Err(format!(
                            "it needs {value} {plan_scale}; the thermostat takes {min_setpoint}–{max_setpoint}"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `reported` is `expected` within `tolerance` percent (of the expected value):
/// numbers within it (or beyond, for `GREATER_THAN` and `LESS_THAN`), strings and flags equal,
/// objects field by field.
pub fn matches(expected: &State, reported: &Value, tolerance: f64) -> bool {
    same(&expected.value, reported, expected.compare, tolerance)
}

fn same(expected: &Value, reported: &Value, compare: Compare, tolerance: f64) -> bool {
    match (expected, reported) {
        (Value::Number(e), Value::Number(r)) => {
            let (e, r) = (
                e.as_f64().unwrap_or(f64::NAN),
                r.as_f64().unwrap_or(f64::NAN),
            );
            match compare {
                Compare::EqualTo => (r - e).abs() <= e.abs() * tolerance / 100.0 + 1e-9,
                Compare::GreaterThan => r > e,
                Compare::LessThan => r < e,
            }
        }
        (Value::Object(e), Value::Object(r)) => e.iter().all(|(key, value)| {
            r.get(key)
                .is_some_and(|reported| same(value, reported, compare, tolerance))
        }),
        (e, r) => compare == Compare::EqualTo && e == r,
    }
}

/// The value of a property in a `ReportState` answer (or any event with a `context`).
pub fn reported<'a>(answer: &'a Value, state: &State) -> Option<&'a Value> {
    answer["context"]["properties"]
        .as_array()?
        .iter()
        .find(|p| {
            p["namespace"] == state.namespace.as_str()
                && p["name"] == state.name.as_str()
                && state.instance.as_deref().is_none_or(|i| p["instance"] == i)
        })
        .map(|p| &p["value"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(value: Value, compare: Compare) -> State {
        State {
            namespace: "Alexa.BrightnessController".into(),
            name: "brightness".into(),
            instance: None,
            value,
            compare,
        }
    }

    #[test]
    fn numbers_within_the_tolerance_objects_by_field() {
        let fifty = state(json!(50), Compare::EqualTo);
        assert!(matches(&fifty, &json!(52), 5.0));
        assert!(!matches(&fifty, &json!(53), 5.0));
        assert!(!matches(&fifty, &json!(51), 0.0));
        let zero = state(json!(0), Compare::EqualTo);
        assert!(matches(&zero, &json!(0), 5.0));
        assert!(!matches(&zero, &json!(1), 5.0));
        assert!(matches(
            &state(json!(2200), Compare::GreaterThan),
            &json!(2700),
            5.0
        ));
        assert!(!matches(
            &state(json!(2200), Compare::GreaterThan),
            &json!(2200),
            5.0
        ));
        assert!(matches(
            &state(json!(7000), Compare::LessThan),
            &json!(5500),
            5.0
        ));
        let temp = state(json!({"value": 17, "scale": "CELSIUS"}), Compare::EqualTo);
        assert!(matches(
            &temp,
            &json!({"value": 17.0, "scale": "CELSIUS"}),
            2.0
        ));
        assert!(!matches(
            &temp,
            &json!({"value": 17.0, "scale": "FAHRENHEIT"}),
            2.0
        ));
        assert!(matches(
            &state(json!("ON"), Compare::EqualTo),
            &json!("ON"),
            0.0
        ));
        assert!(!matches(
            &state(json!("ON"), Compare::EqualTo),
            &json!("OFF"),
            0.0
        ));
    }
}
