//! Amazon's three `SetTargetTemperature` samples (single, dual and triple setpoints, from the
//! ThermostatController docs and `alexa-samples/alexa-smarthome`, copied into `events/`), sent
//! to the example account's single (°C), dual (°F) and triple (°C) thermostats: answered right
//! by the thermostat that declares each kind, and with the ThermostatController error the docs
//! prescribe by one that does not. Values keep the device's own scale.

use crate::support;

use alexa_smart_home::device::Device;
use alexa_smart_home::store::DeviceStore;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::send;

const SINGLE: &str =
    "events/ThermostatController/ThermostatController.SetTargetTemperature.request.json";
const DUAL: &str =
    "events/ThermostatController/ThermostatController.SetTargetTemperature.dual.request.json";
const TRIPLE: &str =
    "events/ThermostatController/ThermostatController.SetTargetTemperature.triple.request.json";

fn sample(file: &str, endpoint: &str, payload: Option<Value>) -> Value {
    support::sample(file, Some(endpoint), payload)
}

async fn stored(tables: &TestTables, endpoint: &str) -> Device {
    tables
        .store
        .device(&"example-user".into(), &endpoint.into())
        .await
        .unwrap()
        .unwrap()
}

fn reported(answer: &Value, name: &str) -> Value {
    answer["context"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["namespace"] == "Alexa.ThermostatController" && p["name"] == name)
        .map(|p| p["value"].clone())
        .unwrap_or_else(|| panic!("no {name} in {answer:#}"))
}

/// The type of a ThermostatController ErrorResponse (and that it is one).
fn thermostat_error(answer: &Value) -> &str {
    assert_eq!(
        answer["event"]["header"]["namespace"], "Alexa.ThermostatController",
        "{answer:#}"
    );
    assert_eq!(answer["event"]["header"]["name"], "ErrorResponse");
    answer["event"]["payload"]["type"].as_str().unwrap()
}

#[tokio::test]
async fn amazons_samples_are_answered_by_the_thermostat_of_each_kind() {
    // Single, Celsius: 25 °C.
    let tables = TestTables::example_account().await;
    let sample_single = sample(
        SINGLE,
        "hallway-thermostat",
        Some(json!({"targetSetpoint": {"value": 25.0, "scale": "CELSIUS"}})),
    );
    let answer = send(&tables, &sample_single).await;
    assert_eq!(
        reported(&answer, "targetSetpoint"),
        json!({"value": 25.0, "scale": "CELSIUS"})
    );

    // Dual, Fahrenheit: 68–78 °F, stored and reported exactly, in °F.
    let answer = send(&tables, &sample(DUAL, "upstairs-thermostat", None)).await;
    assert_eq!(answer["event"]["header"]["name"], "Response", "{answer:#}");
    assert_eq!(
        reported(&answer, "lowerSetpoint"),
        json!({"value": 68.0, "scale": "FAHRENHEIT"})
    );
    assert_eq!(
        reported(&answer, "upperSetpoint"),
        json!({"value": 78.0, "scale": "FAHRENHEIT"})
    );
    let upstairs = stored(&tables, "upstairs-thermostat").await;
    assert_eq!(
        (upstairs.state.lower_setpoint, upstairs.state.upper_setpoint),
        (Some(68.0), Some(78.0))
    );
    assert_eq!(upstairs.state.target_setpoint, None);

    // Triple, Celsius: 73/68/78 °F arrive, kept as the device's °C.
    let answer = send(&tables, &sample(TRIPLE, "office-thermostat", None)).await;
    assert_eq!(
        reported(&answer, "targetSetpoint"),
        json!({"value": 22.8, "scale": "CELSIUS"})
    );
    assert_eq!(
        reported(&answer, "lowerSetpoint"),
        json!({"value": 20.0, "scale": "CELSIUS"})
    );
    assert_eq!(
        reported(&answer, "upperSetpoint"),
        json!({"value": 25.6, "scale": "CELSIUS"})
    );
}

#[tokio::test]
async fn a_thermostat_refuses_the_samples_it_cannot_honour_whole() {
    let tables = TestTables::example_account().await;
    let cases = [
        (DUAL, "hallway-thermostat", "DUAL_SETPOINTS_UNSUPPORTED"),
        (TRIPLE, "hallway-thermostat", "TRIPLE_SETPOINTS_UNSUPPORTED"),
        (
            TRIPLE,
            "upstairs-thermostat",
            "TRIPLE_SETPOINTS_UNSUPPORTED",
        ),
    ];
    for (file, endpoint, expected) in cases {
        let before = stored(&tables, endpoint).await;
        let answer = send(&tables, &sample(file, endpoint, None)).await;
        assert_eq!(thermostat_error(&answer), expected, "{file} → {endpoint}");
        assert_eq!(
            stored(&tables, endpoint).await.state,
            before.state,
            "nothing changed"
        );
    }

    // Setpoints closer than the thermostat keeps them (3 °F for the upstairs one).
    let close = json!({"lowerSetpoint": {"value": 70.0, "scale": "FAHRENHEIT"},
        "upperSetpoint": {"value": 72.0, "scale": "FAHRENHEIT"}});
    let answer = send(&tables, &sample(DUAL, "upstairs-thermostat", Some(close))).await;
    assert_eq!(thermostat_error(&answer), "REQUESTED_SETPOINTS_TOO_CLOSE");
    assert_eq!(
        answer["event"]["payload"]["minimumTemperatureDelta"],
        json!({"value": 3.0, "scale": "FAHRENHEIT"})
    );

    // A setpoint outside the range, answered in the device's own scale.
    let hot = json!({"lowerSetpoint": {"value": 68.0, "scale": "FAHRENHEIT"},
        "upperSetpoint": {"value": 95.0, "scale": "FAHRENHEIT"}});
    let answer = send(&tables, &sample(DUAL, "upstairs-thermostat", Some(hot))).await;
    assert_eq!(
        answer["event"]["payload"]["type"],
        "TEMPERATURE_VALUE_OUT_OF_RANGE"
    );
    assert_eq!(
        answer["event"]["payload"]["validRange"],
        json!({"minimumValue": {"value": 50.0, "scale": "FAHRENHEIT"},
            "maximumValue": {"value": 90.0, "scale": "FAHRENHEIT"}})
    );

    // A mode the thermostat lacks.
    let mode = sample(
        "events/ThermostatController/ThermostatController.SetThermostatMode.request.json",
        "upstairs-thermostat",
        Some(json!({"thermostatMode": {"value": "ECO"}})),
    );
    assert_eq!(
        thermostat_error(&send(&tables, &mode).await),
        "UNSUPPORTED_THERMOSTAT_MODE"
    );

    // Off: a setpoint change does not turn it on.
    let off = sample(
        "events/ThermostatController/ThermostatController.SetThermostatMode.request.json",
        "upstairs-thermostat",
        Some(json!({"thermostatMode": {"value": "OFF"}})),
    );
    send(&tables, &off).await;
    let answer = send(&tables, &sample(DUAL, "upstairs-thermostat", None)).await;
    assert_eq!(thermostat_error(&answer), "THERMOSTAT_IS_OFF");
    let adjust = sample(
        "events/ThermostatController/ThermostatController.AdjustTargetTemperature.request.json",
        "upstairs-thermostat",
        None,
    );
    assert_eq!(
        thermostat_error(&send(&tables, &adjust).await),
        "THERMOSTAT_IS_OFF"
    );
}

#[tokio::test]
async fn a_fahrenheit_thermostat_does_not_drift() {
    // GIVEN the dual °F thermostat in AUTO at 68–76
    let tables = TestTables::example_account().await;
    // WHEN "set it to 70" (one temperature, °F) and then "two degrees warmer" (°F) twenty times
    // back and forth
    let seventy = json!({"targetSetpoint": {"value": 70.0, "scale": "FAHRENHEIT"}});
    let answer = send(
        &tables,
        &sample(SINGLE, "upstairs-thermostat", Some(seventy)),
    )
    .await;
    // THEN the band is centred on exactly 70 °F, in °F
    assert_eq!(
        reported(&answer, "lowerSetpoint"),
        json!({"value": 66.0, "scale": "FAHRENHEIT"})
    );
    assert_eq!(
        reported(&answer, "upperSetpoint"),
        json!({"value": 74.0, "scale": "FAHRENHEIT"})
    );
    for i in 0..20 {
        let delta = if i % 2 == 0 { 2.0 } else { -2.0 };
        let adjust = sample(
            "events/ThermostatController/ThermostatController.AdjustTargetTemperature.request.json",
            "upstairs-thermostat",
            Some(json!({"targetSetpointDelta": {"value": delta, "scale": "FAHRENHEIT"}})),
        );
        send(&tables, &adjust).await;
    }
    let device = stored(&tables, "upstairs-thermostat").await;
    assert_eq!(
        (device.state.lower_setpoint, device.state.upper_setpoint),
        (Some(66.0), Some(74.0))
    );
}
