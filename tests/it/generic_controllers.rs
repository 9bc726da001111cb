//! The devices makers sell beyond lights and plugs, against the real local DynamoDB-compatible
//! server: fans, blinds, garage doors and washers (Range, Mode and Toggle controllers with
//! instances, names, presets and semantics), contact and motion sensors, a bulb's own colour
//! temperature range and a battery too low to act. Every answer is checked against the official
//! schema and against the endpoint's own declaration (instances, semantics, presets).

use crate::support;

use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::{Device, DeviceState, Field, SettingValue};
use alexa_smart_home::store::{DeviceStore, StateOutcome, StateWrite};
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::proactive::{Harness, accept_all, names, no_failures};
use support::{schema, send, send_concurrently};

const USER: &str = "example-user";
const TOKEN: &str = "access-token-from-skill";

/// A directive to `endpoint`, for `instance` when given.
fn directive(
    namespace: &str,
    name: &str,
    endpoint: &str,
    instance: Option<&str>,
    payload: Value,
) -> Value {
    let mut header = json!({"namespace": namespace, "name": name, "payloadVersion": "3",
        "messageId": uuid::Uuid::new_v4().to_string(), "correlationToken": "corr-token"});
    if let Some(instance) = instance {
        header["instance"] = json!(instance);
    }
    json!({"directive": {"header": header,
        "endpoint": {"scope": {"type": "BearerToken", "token": TOKEN}, "endpointId": endpoint},
        "payload": payload}})
}

/// The example account's endpoints as discovery declares them, by id.
async fn discovered(tables: &TestTables) -> std::collections::HashMap<String, Value> {
    let discover = json!({"directive": {"header": {"namespace": "Alexa.Discovery",
        "name": "Discover", "payloadVersion": "3", "messageId": uuid::Uuid::new_v4().to_string()},
        "payload": {"scope": {"type": "BearerToken", "token": TOKEN}}}});
    let answer = send(tables, &discover).await;
    answer["event"]["payload"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["endpointId"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

fn capability<'a>(endpoint: &'a Value, interface: &str, instance: Option<&str>) -> &'a Value {
    endpoint["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["interface"] == interface && c["instance"].as_str() == instance)
        .unwrap_or_else(|| panic!("{interface}/{instance:?} not declared: {endpoint:#}"))
}

fn property<'a>(answer: &'a Value, namespace: &str, instance: Option<&str>) -> &'a Value {
    answer["context"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["namespace"] == namespace && p["instance"].as_str() == instance)
        .unwrap_or_else(|| panic!("no {namespace}/{instance:?} in {answer:#}"))
}

fn error_type(answer: &Value) -> &str {
    assert_eq!(
        answer["event"]["header"]["name"], "ErrorResponse",
        "{answer:#}"
    );
    answer["event"]["payload"]["type"].as_str().unwrap()
}

async fn stored(tables: &TestTables, endpoint: &str) -> Device {
    tables
        .store
        .device(&USER.into(), &endpoint.into())
        .await
        .unwrap()
        .unwrap()
}

fn setting(device: &Device, instance: &str) -> Option<SettingValue> {
    device.state.settings.get(instance).cloned()
}

#[tokio::test]
async fn discovery_declares_what_makers_sell_as_amazon_guides() {
    let tables = TestTables::example_account().await;
    let endpoints = discovered(&tables).await;

    // A fan: power, a speed range with presets under Alexa's FanSpeed name, an oscillation toggle.
    let fan = &endpoints["bedroom-fan"];
    assert_eq!(fan["displayCategories"], json!(["FAN"]));
    capability(fan, "Alexa.PowerController", None);
    let speed = capability(fan, "Alexa.RangeController", Some("Fan.Speed"));
    assert_eq!(
        speed["capabilityResources"]["friendlyNames"][0],
        json!({"@type": "asset", "value": {"assetId": "Alexa.Setting.FanSpeed"}})
    );
    assert_eq!(
        speed["configuration"]["supportedRange"],
        json!({"minimumValue": 1.0, "maximumValue": 5.0, "precision": 1.0})
    );
    assert_eq!(
        speed["configuration"]["presets"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        speed["properties"]["supported"],
        json!([{"name": "rangeValue"}])
    );
    assert_eq!(speed["properties"]["proactivelyReported"], true);
    let oscillate = capability(fan, "Alexa.ToggleController", Some("Fan.Oscillate"));
    assert_eq!(
        oscillate["properties"]["supported"],
        json!([{"name": "toggleState"}])
    );

    // A blind: its position is a range in percent that opens, closes, raises and lowers.
    let blind = &endpoints["bedroom-blind"];
    let lift = capability(blind, "Alexa.RangeController", Some("Blind.Lift"));
    assert_eq!(lift["configuration"]["unitOfMeasure"], "Alexa.Unit.Percent");
    let actions: Vec<(&str, &str)> = lift["semantics"]["actionMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["actions"][0].as_str().unwrap(),
                m["directive"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("Alexa.Actions.Close", "SetRangeValue"),
            ("Alexa.Actions.Open", "SetRangeValue"),
            ("Alexa.Actions.Lower", "AdjustRangeValue"),
            ("Alexa.Actions.Raise", "AdjustRangeValue"),
        ]
    );
    let states: Vec<&str> = lift["semantics"]["stateMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["states"][0].as_str().unwrap())
        .collect();
    assert_eq!(states, ["Alexa.States.Closed", "Alexa.States.Open"]);

    // A garage door: a mode with open and close semantics.
    let door = &endpoints["garage-door"];
    assert_eq!(door["displayCategories"], json!(["GARAGE_DOOR"]));
    let position = capability(door, "Alexa.ModeController", Some("GarageDoor.Position"));
    assert_eq!(position["configuration"]["ordered"], false);
    assert_eq!(
        position["semantics"]["actionMappings"][1]["directive"],
        json!({"name": "SetMode", "payload": {"mode": "Position.Up"}})
    );

    // Sensors: their detection state, retrievable and proactively reported, and their health.
    for (id, interface) in [
        ("front-door-contact", "Alexa.ContactSensor"),
        ("hallway-motion", "Alexa.MotionSensor"),
    ] {
        let sensor = capability(&endpoints[id], interface, None);
        assert_eq!(
            sensor["properties"],
            json!({"supported": [{"name": "detectionState"}], "proactivelyReported": true, "retrievable": true})
        );
        capability(&endpoints[id], "Alexa.EndpointHealth", None);
    }
}

/// (directive namespace, name, endpoint, instance, payload) → the value stored and answered.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Value,
    Value,
);

#[tokio::test]
async fn every_new_directive_changes_the_stored_state_and_answers_it_with_its_instance() {
    let cases: Vec<Case> = vec![
        // seeded at 2
        (
            "Alexa.RangeController",
            "SetRangeValue",
            "bedroom-fan",
            Some("Fan.Speed"),
            json!({"rangeValue": 4}),
            json!(4.0),
        ),
        (
            "Alexa.RangeController",
            "AdjustRangeValue",
            "bedroom-fan",
            Some("Fan.Speed"),
            json!({"rangeValueDelta": 2, "rangeValueDeltaDefault": false}),
            json!(4.0),
        ),
        // "turn up the fan": no amount, the device's default step (a tenth of 1–5: one step)
        (
            "Alexa.RangeController",
            "AdjustRangeValue",
            "bedroom-fan",
            Some("Fan.Speed"),
            json!({"rangeValueDelta": 40, "rangeValueDeltaDefault": true}),
            json!(3.0),
        ),
        // seeded open (100): "lower the blind" as its semantics say, then "close the blind"
        (
            "Alexa.RangeController",
            "AdjustRangeValue",
            "bedroom-blind",
            Some("Blind.Lift"),
            json!({"rangeValueDelta": -10, "rangeValueDeltaDefault": false}),
            json!(90.0),
        ),
        (
            "Alexa.RangeController",
            "SetRangeValue",
            "bedroom-blind",
            Some("Blind.Lift"),
            json!({"rangeValue": 0}),
            json!(0.0),
        ),
        // a value between steps goes to the nearest step
        (
            "Alexa.RangeController",
            "SetRangeValue",
            "bedroom-blind",
            Some("Blind.Lift"),
            json!({"rangeValue": 33.4}),
            json!(33.0),
        ),
        (
            "Alexa.ModeController",
            "SetMode",
            "garage-door",
            Some("GarageDoor.Position"),
            json!({"mode": "Position.Up"}),
            json!("Position.Up"),
        ),
        (
            "Alexa.ModeController",
            "SetMode",
            "laundry-washer",
            Some("Washer.Cycle"),
            json!({"mode": "Cycle.Delicates"}),
            json!("Cycle.Delicates"),
        ),
        // seeded Warm: one up is Hot, two down is Cold (clamped at the ends)
        (
            "Alexa.ModeController",
            "AdjustMode",
            "laundry-washer",
            Some("Washer.WaterTemperature"),
            json!({"modeDelta": 1}),
            json!("WaterTemperature.Hot"),
        ),
        (
            "Alexa.ModeController",
            "AdjustMode",
            "laundry-washer",
            Some("Washer.WaterTemperature"),
            json!({"modeDelta": -2}),
            json!("WaterTemperature.Cold"),
        ),
        (
            "Alexa.ToggleController",
            "TurnOn",
            "bedroom-fan",
            Some("Fan.Oscillate"),
            json!({}),
            json!("ON"),
        ),
        (
            "Alexa.ToggleController",
            "TurnOff",
            "laundry-washer",
            Some("Washer.ChildLock"),
            json!({}),
            json!("OFF"),
        ),
    ];
    for (namespace, name, endpoint, instance, payload, value) in cases {
        let tables = TestTables::example_account().await;
        let declared = discovered(&tables).await.remove(endpoint).unwrap();
        let answer = send(
            &tables,
            &directive(namespace, name, endpoint, instance, payload),
        )
        .await;
        let what = format!("{namespace}.{name} {instance:?}");

        assert_eq!(
            answer["event"]["header"]["name"], "Response",
            "{what}: {answer:#}"
        );
        assert_eq!(answer["event"]["header"]["correlationToken"], "corr-token");
        schema::assert_instances_declared(&answer, &declared);
        let reported = property(&answer, namespace, instance);
        assert_eq!(reported["value"], value, "{what}");
        assert_eq!(reported["uncertaintyInMilliseconds"], 0, "{what}");

        let device = stored(&tables, endpoint).await;
        let stored_value = match setting(&device, instance.unwrap()) {
            Some(SettingValue::Number(v)) => json!(v),
            Some(SettingValue::Mode(m)) => json!(m),
            Some(SettingValue::On(on)) => json!(if on { "ON" } else { "OFF" }),
            other => panic!("{what}: stored {other:?}"),
        };
        assert_eq!(stored_value, value, "{what}");
        assert_eq!(device.changed_by, Some(CauseType::VoiceInteraction));
        assert!(
            device
                .sampled_at
                .contains_key(&Field::Setting(instance.unwrap().into())),
            "{what}"
        );
        // The other settings of the device are untouched.
        if endpoint == "bedroom-fan" && instance != Some("Fan.Speed") {
            assert_eq!(
                setting(&device, "Fan.Speed"),
                Some(SettingValue::Number(2.0))
            );
        }
    }
}

#[tokio::test]
async fn generic_controller_errors() {
    let tables = TestTables::example_account().await;
    let range = |endpoint, instance: Option<&str>, payload| {
        directive(
            "Alexa.RangeController",
            "SetRangeValue",
            endpoint,
            instance,
            payload,
        )
    };

    // Out of range, with the range's own bounds.
    let answer = send(
        &tables,
        &range("bedroom-fan", Some("Fan.Speed"), json!({"rangeValue": 9})),
    )
    .await;
    assert_eq!(error_type(&answer), "VALUE_OUT_OF_RANGE");
    assert_eq!(
        answer["event"]["payload"]["validRange"],
        json!({"minimumValue": 1.0, "maximumValue": 5.0})
    );
    let too_far = directive(
        "Alexa.RangeController",
        "AdjustRangeValue",
        "bedroom-fan",
        Some("Fan.Speed"),
        json!({"rangeValueDelta": 50}),
    );
    assert_eq!(
        error_type(&send(&tables, &too_far).await),
        "VALUE_OUT_OF_RANGE"
    );

    // An instance the endpoint does not declare, or none at all, or another interface's.
    for instance in [Some("Fan.Direction"), Some("Fan.Oscillate"), None] {
        let answer = send(
            &tables,
            &range("bedroom-fan", instance, json!({"rangeValue": 3})),
        )
        .await;
        assert_eq!(error_type(&answer), "INVALID_DIRECTIVE", "{instance:?}");
    }
    // A mode the setting does not have; stepping through unordered modes.
    let mode = directive(
        "Alexa.ModeController",
        "SetMode",
        "garage-door",
        Some("GarageDoor.Position"),
        json!({"mode": "Position.Sideways"}),
    );
    assert_eq!(error_type(&send(&tables, &mode).await), "INVALID_VALUE");
    let adjust = directive(
        "Alexa.ModeController",
        "AdjustMode",
        "garage-door",
        Some("GarageDoor.Position"),
        json!({"modeDelta": 1}),
    );
    assert_eq!(
        error_type(&send(&tables, &adjust).await),
        "INVALID_DIRECTIVE"
    );
    // A malformed payload.
    let malformed = range(
        "bedroom-fan",
        Some("Fan.Speed"),
        json!({"rangeValue": "fast"}),
    );
    assert_eq!(
        error_type(&send(&tables, &malformed).await),
        "INVALID_DIRECTIVE"
    );
    // Nothing above changed anything.
    let fan = stored(&tables, "bedroom-fan").await;
    assert_eq!(setting(&fan, "Fan.Speed"), Some(SettingValue::Number(2.0)));
    assert_eq!(fan.changed_by, None);

    // An unreachable fan.
    let mut unreachable = fan.clone();
    unreachable.connectivity = alexa_smart_home::device::Connectivity::Unreachable;
    tables.store.put_device(&unreachable).await.unwrap();
    let toggle = directive(
        "Alexa.ToggleController",
        "TurnOn",
        "bedroom-fan",
        Some("Fan.Oscillate"),
        json!({}),
    );
    assert_eq!(
        error_type(&send(&tables, &toggle).await),
        "ENDPOINT_UNREACHABLE"
    );

    // A garage door whose battery the device cloud says is too low to move it.
    let mut door = stored(&tables, "garage-door").await;
    door.state.battery_level = Some(4);
    door.state.low_battery = Some(true);
    tables.store.put_device(&door).await.unwrap();
    let open = directive(
        "Alexa.ModeController",
        "SetMode",
        "garage-door",
        Some("GarageDoor.Position"),
        json!({"mode": "Position.Up"}),
    );
    let answer = send(&tables, &open).await;
    assert_eq!(error_type(&answer), "ENDPOINT_LOW_POWER");
    assert_eq!(answer["event"]["payload"]["percentageState"], 4);
    assert_eq!(
        setting(&stored(&tables, "garage-door").await, "GarageDoor.Position"),
        Some(SettingValue::Mode("Position.Down".into()))
    );

    // Another customer's device.
    let answer = send(
        &tables,
        &range("their-fan", Some("Fan.Speed"), json!({"rangeValue": 3})),
    )
    .await;
    assert_eq!(error_type(&answer), "NO_SUCH_ENDPOINT");
}

#[tokio::test]
async fn colour_temperature_stays_within_the_bulbs_own_range() {
    // GIVEN the bedroom bulb, which shows 2200–6500 K, at 2700 K
    let tables = TestTables::example_account().await;
    let declared = discovered(&tables)
        .await
        .remove("bedroom-color-light")
        .unwrap();
    capability(&declared, "Alexa.ColorTemperatureController", None);
    let set = |k: i64| {
        directive(
            "Alexa.ColorTemperatureController",
            "SetColorTemperature",
            "bedroom-color-light",
            None,
            json!({"colorTemperatureInKelvin": k}),
        )
    };
    // WHEN asked for 9000 K THEN out of range, with the bulb's range
    let answer = send(&tables, &set(9000)).await;
    assert_eq!(error_type(&answer), "VALUE_OUT_OF_RANGE");
    assert_eq!(
        answer["event"]["payload"]["validRange"],
        json!({"minimumValue": 2200.0, "maximumValue": 6500.0})
    );
    // AND "cooler" steps through the named whites it can show, then to its own end, and stays
    let cooler = directive(
        "Alexa.ColorTemperatureController",
        "IncreaseColorTemperature",
        "bedroom-color-light",
        None,
        json!({}),
    );
    let mut seen = Vec::new();
    for _ in 0..5 {
        let answer = send(&tables, &cooler).await;
        seen.push(property(&answer, "Alexa.ColorTemperatureController", None)["value"].clone());
    }
    assert_eq!(
        seen,
        [
            json!(4000),
            json!(5500),
            json!(6500),
            json!(6500),
            json!(6500)
        ]
    );
    send(&tables, &set(6500)).await;
    let answer = send(&tables, &cooler).await;
    assert_eq!(
        property(&answer, "Alexa.ColorTemperatureController", None)["value"],
        6500
    );
}

#[tokio::test]
async fn twenty_concurrent_range_adjustments_all_count() {
    // GIVEN a blind at 50 %
    let tables = TestTables::example_account().await;
    let set = directive(
        "Alexa.RangeController",
        "SetRangeValue",
        "bedroom-blind",
        Some("Blind.Lift"),
        json!({"rangeValue": 50}),
    );
    send(&tables, &set).await;

    // WHEN 20 AdjustRangeValue +1 arrive at once, through one shared skill
    let adjust = directive(
        "Alexa.RangeController",
        "AdjustRangeValue",
        "bedroom-blind",
        Some("Blind.Lift"),
        json!({"rangeValueDelta": 1}),
    );
    let answers = send_concurrently(&tables, &adjust, 20).await;

    // THEN every one succeeded, each saw a different value, and the blind is at 70 %
    let mut seen: Vec<i64> = answers
        .iter()
        .map(|a| {
            property(a, "Alexa.RangeController", Some("Blind.Lift"))["value"]
                .as_f64()
                .unwrap() as i64
        })
        .collect();
    seen.sort();
    assert_eq!(seen, (51..=70).collect::<Vec<_>>());
    assert_eq!(
        setting(&stored(&tables, "bedroom-blind").await, "Blind.Lift"),
        Some(SettingValue::Number(70.0))
    );
}

#[tokio::test]
async fn a_sensor_reports_its_state_and_an_opened_door_is_a_physical_change_report() {
    // GIVEN the example account's door sensor (closed), with events enabled
    let seed = alexa_smart_home::store::seed::Seed::from_json(&support::read(
        "fixtures/example-account.json",
    ))
    .unwrap();
    let sensors: Vec<Device> = seed
        .devices
        .into_iter()
        .filter(|d| {
            d.definition.endpoint_id == "front-door-contact"
                || d.definition.endpoint_id == "hallway-motion"
        })
        .collect();
    let user = sensors[0].definition.user_id.clone();
    let mut h = Harness::new(&sensors).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;

    // WHEN the device cloud records that the door opened
    let written = h
        .store()
        .update_state(
            &user,
            &"front-door-contact".into(),
            &StateWrite {
                patch: DeviceState {
                    contact_open: Some(true),
                    ..DeviceState::default()
                },
                connectivity: None,
                expected: None,
                cause: CauseType::PhysicalInteraction,
                at_ms: Clock::system().now_ms(),
                shadow_version: None,
                unless_reported: None,
                answered: false,
            },
        )
        .await
        .unwrap();
    assert!(matches!(written, StateOutcome::Written(_)));
    let (_, response) = h.run_batch().await;

    // THEN one ChangeReport: detected (open), caused physically, valid and declared
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    let report = &events[0];
    let endpoint = serde_json::to_value(alexa_smart_home::device::mapping::endpoint(
        &h.store()
            .device(&user, &"front-door-contact".into())
            .await
            .unwrap()
            .unwrap()
            .definition,
    ))
    .unwrap();
    schema::assert_instances_declared(report, &endpoint);
    assert_eq!(
        report["event"]["payload"]["change"]["cause"]["type"],
        "PHYSICAL_INTERACTION"
    );
    let changed = &report["event"]["payload"]["change"]["properties"];
    assert_eq!(changed[0]["namespace"], "Alexa.ContactSensor");
    assert_eq!(changed[0]["name"], "detectionState");
    assert_eq!(changed[0]["value"], "DETECTED");

    // AND ReportState answers it, and the motion sensor's NOT_DETECTED
    let tables = TestTables::example_account().await;
    // (and a StateReport names each setting's instance: the fan's two)
    let fan = directive("Alexa", "ReportState", "bedroom-fan", None, json!({}));
    let answer = send(&tables, &fan).await;
    assert_eq!(answer["event"]["header"]["name"], "StateReport");
    let declared = discovered(&tables).await.remove("bedroom-fan").unwrap();
    schema::assert_instances_declared(&answer, &declared);
    assert_eq!(
        property(&answer, "Alexa.RangeController", Some("Fan.Speed"))["value"],
        2.0
    );
    assert_eq!(
        property(&answer, "Alexa.ToggleController", Some("Fan.Oscillate"))["value"],
        "OFF"
    );
    for (id, namespace) in [
        ("front-door-contact", "Alexa.ContactSensor"),
        ("hallway-motion", "Alexa.MotionSensor"),
    ] {
        let state = directive("Alexa", "ReportState", id, None, json!({}));
        let answer = send(&tables, &state).await;
        assert_eq!(answer["event"]["header"]["name"], "StateReport");
        assert_eq!(property(&answer, namespace, None)["value"], "NOT_DETECTED");
    }
}

#[tokio::test]
async fn a_settings_change_on_the_device_is_a_change_report_with_its_instance() {
    // GIVEN the fan, with events enabled
    let seed = alexa_smart_home::store::seed::Seed::from_json(&support::read(
        "fixtures/example-account.json",
    ))
    .unwrap();
    let fan: Vec<Device> = seed
        .devices
        .into_iter()
        .filter(|d| d.definition.endpoint_id == "bedroom-fan")
        .collect();
    let user = fan[0].definition.user_id.clone();
    let mut h = Harness::new(&fan).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;

    // WHEN its remote sets speed 5 and oscillation on
    let mut patch = DeviceState::default();
    patch
        .settings
        .insert("Fan.Speed".into(), SettingValue::Number(5.0));
    patch
        .settings
        .insert("Fan.Oscillate".into(), SettingValue::On(true));
    h.store()
        .update_state(
            &user,
            &"bedroom-fan".into(),
            &StateWrite {
                patch,
                connectivity: None,
                expected: None,
                cause: CauseType::PhysicalInteraction,
                at_ms: Clock::system().now_ms(),
                shadow_version: None,
                unless_reported: None,
                answered: false,
            },
        )
        .await
        .unwrap();
    let (_, response) = h.run_batch().await;

    // THEN the ChangeReport names both instances as changed, power as context
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    let endpoint = serde_json::to_value(alexa_smart_home::device::mapping::endpoint(
        &fan[0].definition,
    ))
    .unwrap();
    schema::assert_instances_declared(&events[0], &endpoint);
    let changed: Vec<(Value, Value)> = events[0]["event"]["payload"]["change"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["instance"].clone(), p["value"].clone()))
        .collect();
    assert_eq!(
        changed,
        [
            (json!("Fan.Speed"), json!(5.0)),
            (json!("Fan.Oscillate"), json!("ON"))
        ]
    );
}
