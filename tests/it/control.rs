//! Control directives and ReportState against the real local DynamoDB-compatible server: every
//! sample directive in `events/` changes the stored state and is answered with a valid
//! response; each error type that applies is answered as Alexa expects.

use crate::support;

use std::collections::HashMap;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::device::{Connectivity, Device, LockState};
use alexa_smart_home::store::{DeviceStore, GrantStore, TokenRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::{sample, schema, send, send_concurrently};

const USER: &str = "example-user";
const TOKEN: &str = "access-token-from-skill";

async fn stored(tables: &TestTables, endpoint: &str) -> Device {
    tables
        .store
        .device(&USER.into(), &endpoint.into())
        .await
        .unwrap()
        .expect("device exists")
}

fn property<'a>(answer: &'a Value, namespace: &str, name: &str) -> Option<&'a Value> {
    answer["context"]["properties"]
        .as_array()?
        .iter()
        .find(|p| p["namespace"] == namespace && p["name"] == name)
}

fn error_type(answer: &Value) -> &str {
    assert_eq!(
        answer["event"]["header"]["name"], "ErrorResponse",
        "{answer:#}"
    );
    answer["event"]["payload"]["type"].as_str().unwrap()
}

type Check = fn(&Device) -> bool;
/// interface, directive name, endpoint, what must be stored, (namespace, property, value) answered.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Check,
    (&'static str, &'static str, Value),
);

#[tokio::test]
async fn every_control_directive_changes_the_stored_state_and_answers_with_it() {
    let cases: Vec<Case> = vec![
        (
            "PowerController",
            "TurnOn",
            "living-room-light",
            |d| d.state.power_on == Some(true),
            ("Alexa.PowerController", "powerState", json!("ON")),
        ),
        (
            "PowerController",
            "TurnOff",
            "living-room-light",
            |d| d.state.power_on == Some(false),
            ("Alexa.PowerController", "powerState", json!("OFF")),
        ),
        (
            "BrightnessController",
            "SetBrightness",
            "living-room-light",
            |d| d.state.brightness == Some(75),
            ("Alexa.BrightnessController", "brightness", json!(75)),
        ),
        // seeded off at 60, -25: an off light is at 0 %, so "dimmer" leaves it off, with the
        // 60 % it comes back on at (handlers::light)
        (
            "BrightnessController",
            "AdjustBrightness",
            "living-room-light",
            |d| d.state.power_on == Some(false) && d.state.brightness == Some(60),
            ("Alexa.BrightnessController", "brightness", json!(0)),
        ),
        (
            "PercentageController",
            "SetPercentage",
            "living-room-humidifier",
            |d| d.state.percentage == Some(74),
            ("Alexa.PercentageController", "percentage", json!(74)),
        ),
        // seeded at 40, -20
        (
            "PercentageController",
            "AdjustPercentage",
            "living-room-humidifier",
            |d| d.state.percentage == Some(20),
            ("Alexa.PercentageController", "percentage", json!(20)),
        ),
        (
            "PowerLevelController",
            "SetPowerLevel",
            "hallway-dimmer-switch",
            |d| d.state.power_level == Some(42),
            ("Alexa.PowerLevelController", "powerLevel", json!(42)),
        ),
        // seeded at 60, -10
        (
            "PowerLevelController",
            "AdjustPowerLevel",
            "hallway-dimmer-switch",
            |d| d.state.power_level == Some(50),
            ("Alexa.PowerLevelController", "powerLevel", json!(50)),
        ),
        (
            "ColorController",
            "SetColor",
            "bedroom-color-light",
            |d| d.state.color.is_some_and(|c| c.hue == 350.5),
            (
                "Alexa.ColorController",
                "color",
                json!({"hue": 350.5, "saturation": 0.7138, "brightness": 0.6524}),
            ),
        ),
        (
            "ColorTemperatureController",
            "SetColorTemperature",
            "bedroom-color-light",
            |d| d.state.color_temperature_kelvin == Some(5000),
            (
                "Alexa.ColorTemperatureController",
                "colorTemperatureInKelvin",
                json!(5000),
            ),
        ),
        // seeded at 2700: one named white up, one down
        (
            "ColorTemperatureController",
            "IncreaseColorTemperature",
            "bedroom-color-light",
            |d| d.state.color_temperature_kelvin == Some(4000),
            (
                "Alexa.ColorTemperatureController",
                "colorTemperatureInKelvin",
                json!(4000),
            ),
        ),
        (
            "ColorTemperatureController",
            "DecreaseColorTemperature",
            "bedroom-color-light",
            |d| d.state.color_temperature_kelvin == Some(2200),
            (
                "Alexa.ColorTemperatureController",
                "colorTemperatureInKelvin",
                json!(2200),
            ),
        ),
        // 70 °F
        (
            "ThermostatController",
            "SetTargetTemperature",
            "hallway-thermostat",
            |d| d.state.target_setpoint == Some(21.1),
            (
                "Alexa.ThermostatController",
                "targetSetpoint",
                json!({"value": 21.1, "scale": "CELSIUS"}),
            ),
        ),
        // seeded at 21.0, -1 °C
        (
            "ThermostatController",
            "AdjustTargetTemperature",
            "hallway-thermostat",
            |d| d.state.target_setpoint == Some(20.0),
            (
                "Alexa.ThermostatController",
                "targetSetpoint",
                json!({"value": 20.0, "scale": "CELSIUS"}),
            ),
        ),
        (
            "ThermostatController",
            "SetThermostatMode",
            "hallway-thermostat",
            |d| d.state.thermostat_mode.as_deref() == Some("COOL"),
            (
                "Alexa.ThermostatController",
                "thermostatMode",
                json!("COOL"),
            ),
        ),
        (
            "LockController",
            "Lock",
            "front-door-lock",
            |d| d.state.lock_state == Some(LockState::Locked),
            ("Alexa.LockController", "lockState", json!("LOCKED")),
        ),
        (
            "LockController",
            "Unlock",
            "front-door-lock",
            |d| d.state.lock_state == Some(LockState::Unlocked),
            ("Alexa.LockController", "lockState", json!("UNLOCKED")),
        ),
        (
            "Speaker",
            "SetVolume",
            "home-theater-soundbar",
            |d| d.state.volume == Some(50),
            ("Alexa.Speaker", "volume", json!(50)),
        ),
        // seeded at 30, -20
        (
            "Speaker",
            "AdjustVolume",
            "home-theater-soundbar",
            |d| d.state.volume == Some(10),
            ("Alexa.Speaker", "volume", json!(10)),
        ),
        (
            "Speaker",
            "SetMute",
            "home-theater-soundbar",
            |d| d.state.muted == Some(true),
            ("Alexa.Speaker", "muted", json!(true)),
        ),
    ];
    for (interface, name, endpoint, check, (namespace, property_name, value)) in cases {
        // Each directive on a freshly seeded account, so that adjustments start from the seed.
        let tables = TestTables::example_account().await;
        let file = format!("events/{interface}/{interface}.{name}.request.json");
        let directive = sample(&file, None, None);
        let answer = send(&tables, &directive).await;

        assert_eq!(
            answer["event"]["header"]["namespace"], "Alexa",
            "{file}: {answer:#}"
        );
        assert_eq!(answer["event"]["header"]["name"], "Response", "{file}");
        assert_eq!(
            answer["event"]["header"]["correlationToken"],
            directive["directive"]["header"]["correlationToken"],
            "{file}"
        );
        assert_eq!(
            answer["event"]["endpoint"]["endpointId"], endpoint,
            "{file}"
        );
        let reported = property(&answer, namespace, property_name)
            .unwrap_or_else(|| panic!("{file}: {answer:#}"));
        assert_eq!(reported["value"], value, "{file}");
        // The value was just written: no uncertainty.
        assert_eq!(reported["uncertaintyInMilliseconds"], 0, "{file}");
        let connectivity =
            property(&answer, "Alexa.EndpointHealth", "connectivity").expect("connectivity");
        assert_eq!(connectivity["value"], json!({"value": "OK"}));

        let device = stored(&tables, endpoint).await;
        assert!(check(&device), "{file}: stored state {:?}", device.state);
        assert_eq!(
            device.changed_by,
            Some(CauseType::VoiceInteraction),
            "{file}"
        );
        assert!(
            !device.sampled_at.is_empty(),
            "{file}: sample time recorded"
        );
    }
}

#[tokio::test]
async fn scenes_answer_activation_and_deactivation_started() {
    let tables = TestTables::example_account().await;
    for (name, activated) in [("Activate", true), ("Deactivate", false)] {
        let file = format!("events/SceneController/SceneController.{name}.request.json");
        let answer = send(&tables, &sample(&file, None, None)).await;
        assert_eq!(
            answer["event"]["header"]["namespace"],
            "Alexa.SceneController"
        );
        let expected = if activated {
            "ActivationStarted"
        } else {
            "DeactivationStarted"
        };
        assert_eq!(answer["event"]["header"]["name"], expected);
        assert_eq!(
            answer["event"]["payload"]["cause"]["type"],
            "VOICE_INTERACTION"
        );
        assert!(
            answer["event"]["payload"]["timestamp"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        assert_eq!(
            stored(&tables, "movie-night-scene")
                .await
                .state
                .scene_active,
            Some(activated)
        );
    }
}

#[tokio::test]
async fn report_state_reports_every_property_as_last_known() {
    let tables = TestTables::example_account().await;
    let answer = send(
        &tables,
        &sample("events/Alexa/Alexa.ReportState.request.json", None, None),
    )
    .await;
    assert_eq!(answer["event"]["header"]["name"], "StateReport");
    let names: Vec<&str> = answer["context"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "targetSetpoint",
            "thermostatMode",
            "temperature",
            "connectivity"
        ]
    );
    assert_eq!(
        property(&answer, "Alexa.TemperatureSensor", "temperature").unwrap()["value"],
        json!({"value": 19.5, "scale": "CELSIUS"})
    );
    // Seeded values carry no sample time: reported with an hour's uncertainty, not as fresh.
    assert_eq!(
        property(&answer, "Alexa.ThermostatController", "thermostatMode").unwrap()["uncertaintyInMilliseconds"],
        3_600_000
    );

    // An unreachable device is still reported, as unreachable, with its last known state.
    mark_unreachable(&tables, "hallway-thermostat").await;
    let answer = send(
        &tables,
        &sample("events/Alexa/Alexa.ReportState.request.json", None, None),
    )
    .await;
    assert_eq!(answer["event"]["header"]["name"], "StateReport");
    assert_eq!(
        property(&answer, "Alexa.EndpointHealth", "connectivity").unwrap()["value"],
        json!({"value": "UNREACHABLE"})
    );
    assert!(property(&answer, "Alexa.ThermostatController", "targetSetpoint").is_some());
}

async fn mark_unreachable(tables: &TestTables, endpoint: &str) {
    let mut device = stored(tables, endpoint).await;
    device.connectivity = Connectivity::Unreachable;
    tables.store.put_device(&device).await.unwrap();
}

#[tokio::test]
async fn control_errors() {
    let tables = TestTables::example_account().await;
    let brightness = "events/BrightnessController/BrightnessController.SetBrightness.request.json";

    // Tokens: unknown, expired.
    let mut unknown = sample(brightness, None, None);
    unknown["directive"]["endpoint"]["scope"]["token"] = json!("never-issued");
    assert_eq!(
        error_type(&send(&tables, &unknown).await),
        "INVALID_AUTHORIZATION_CREDENTIAL"
    );
    tables
        .store
        .put_token(
            &BearerToken::new("expired-token"),
            &TokenRecord {
                user_id: USER.into(),
                expires_at: Some(1),
            },
        )
        .await
        .unwrap();
    let mut expired = sample(brightness, None, None);
    expired["directive"]["endpoint"]["scope"]["token"] = json!("expired-token");
    assert_eq!(
        error_type(&send(&tables, &expired).await),
        "EXPIRED_AUTHORIZATION_CREDENTIAL"
    );

    // An endpoint of another customer is no endpoint of this one.
    tables
        .store
        .put_device(&serde_json::from_value(json!({
            "userId": "someone-else", "endpointId": "their-light", "name": "Theirs", "description": "d",
            "manufacturer": "m", "category": "LIGHT", "capabilities": [{"type": "brightness"}]
        })).unwrap())
        .await
        .unwrap();
    let answer = send(&tables, &sample(brightness, Some("their-light"), None)).await;
    assert_eq!(error_type(&answer), "NO_SUCH_ENDPOINT");
    assert_eq!(answer["event"]["endpoint"]["endpointId"], "their-light");
    let theirs = tables
        .store
        .device(&"someone-else".into(), &"their-light".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(theirs.state.brightness, None, "not changed");

    // A capability the device does not have.
    assert_eq!(
        error_type(&send(&tables, &sample(brightness, Some("kitchen-plug"), None)).await),
        "INVALID_DIRECTIVE"
    );

    // Values out of range, each with its valid range.
    let out_of_range = [
        (
            brightness,
            json!({"brightness": 150}),
            json!({"minimumValue": 0.0, "maximumValue": 100.0}),
        ),
        (
            "events/PercentageController/PercentageController.SetPercentage.request.json",
            json!({"percentage": -5}),
            json!({"minimumValue": 0.0, "maximumValue": 100.0}),
        ),
        (
            "events/PowerLevelController/PowerLevelController.SetPowerLevel.request.json",
            json!({"powerLevel": 101}),
            json!({"minimumValue": 0.0, "maximumValue": 100.0}),
        ),
        (
            "events/PowerLevelController/PowerLevelController.AdjustPowerLevel.request.json",
            json!({"powerLevelDelta": -101}),
            json!({"minimumValue": -100.0, "maximumValue": 100.0}),
        ),
        (
            "events/ColorTemperatureController/ColorTemperatureController.SetColorTemperature.request.json",
            json!({"colorTemperatureInKelvin": 500}),
            json!({"minimumValue": 2200.0, "maximumValue": 6500.0}),
        ),
        (
            "events/Speaker/Speaker.SetVolume.request.json",
            json!({"volume": 101}),
            json!({"minimumValue": 0.0, "maximumValue": 100.0}),
        ),
        (
            "events/BrightnessController/BrightnessController.AdjustBrightness.request.json",
            json!({"brightnessDelta": 250}),
            json!({"minimumValue": -100.0, "maximumValue": 100.0}),
        ),
    ];
    for (file, payload, range) in out_of_range {
        let answer = send(&tables, &sample(file, None, Some(payload))).await;
        assert_eq!(error_type(&answer), "VALUE_OUT_OF_RANGE", "{file}");
        assert_eq!(answer["event"]["payload"]["validRange"], range, "{file}");
    }
    let hot = sample(
        "events/ThermostatController/ThermostatController.SetTargetTemperature.request.json",
        None,
        Some(json!({"targetSetpoint": {"value": 120.0, "scale": "FAHRENHEIT"}})),
    );
    let answer = send(&tables, &hot).await;
    assert_eq!(error_type(&answer), "TEMPERATURE_VALUE_OUT_OF_RANGE");
    assert_eq!(
        answer["event"]["payload"]["validRange"],
        json!({"minimumValue": {"value": 7.0, "scale": "CELSIUS"}, "maximumValue": {"value": 30.0, "scale": "CELSIUS"}})
    );
    let mode = sample(
        "events/ThermostatController/ThermostatController.SetThermostatMode.request.json",
        None,
        Some(json!({"thermostatMode": {"value": "CUSTOM", "customName": "VACATION"}})),
    );
    let answer = send(&tables, &mode).await;
    assert_eq!(error_type(&answer), "UNSUPPORTED_THERMOSTAT_MODE");
    assert_eq!(
        answer["event"]["header"]["namespace"],
        "Alexa.ThermostatController"
    );
    let deactivate_unsupported = sample(
        "events/SceneController/SceneController.Deactivate.request.json",
        Some("living-room-light"),
        None,
    );
    assert_eq!(
        error_type(&send(&tables, &deactivate_unsupported).await),
        "INVALID_DIRECTIVE"
    );

    // Nothing above changed the stored state.
    let light = stored(&tables, "living-room-light").await;
    assert_eq!(light.state.brightness, Some(60));
    assert_eq!(light.changed_by, None);

    // An unreachable device.
    mark_unreachable(&tables, "living-room-light").await;
    let on = sample(
        "events/PowerController/PowerController.TurnOn.request.json",
        None,
        None,
    );
    assert_eq!(
        error_type(&send(&tables, &on).await),
        "ENDPOINT_UNREACHABLE"
    );
    assert_eq!(
        stored(&tables, "living-room-light").await.state.power_on,
        Some(false)
    );
}

#[tokio::test]
async fn twenty_concurrent_adjustments_all_count() {
    // GIVEN a light at 50 %
    let tables = TestTables::example_account().await;
    let set = sample(
        "events/BrightnessController/BrightnessController.SetBrightness.request.json",
        None,
        Some(json!({"brightness": 50})),
    );
    send(&tables, &set).await;

    // WHEN 20 AdjustBrightness +1 arrive at once, through one shared skill
    let adjust = sample(
        "events/BrightnessController/BrightnessController.AdjustBrightness.request.json",
        None,
        Some(json!({"brightnessDelta": 1})),
    );
    let answers = send_concurrently(&tables, &adjust, 20).await;

    // THEN every one succeeded, each saw a different value, and the light is at 70 %
    let mut seen: Vec<i64> = answers
        .iter()
        .map(|a| {
            property(a, "Alexa.BrightnessController", "brightness").unwrap()["value"]
                .as_i64()
                .unwrap()
        })
        .collect();
    seen.sort();
    assert_eq!(seen, (51..=70).collect::<Vec<_>>());
    assert_eq!(
        stored(&tables, "living-room-light").await.state.brightness,
        Some(70)
    );
}

#[tokio::test]
async fn a_device_without_state_maps_can_still_be_controlled() {
    // GIVEN a device item written by a device cloud that stores no state at all
    let tables = TestTables::example_account().await;
    let item = HashMap::from([
        ("userId".to_owned(), AttributeValue::S(USER.into())),
        (
            "endpointId".to_owned(),
            AttributeValue::S("bare-light".into()),
        ),
        ("name".to_owned(), AttributeValue::S("Bare".into())),
        ("description".to_owned(), AttributeValue::S("d".into())),
        ("manufacturer".to_owned(), AttributeValue::S("m".into())),
        ("category".to_owned(), AttributeValue::S("LIGHT".into())),
        (
            "capabilities".to_owned(),
            AttributeValue::L(vec![AttributeValue::M(HashMap::from([(
                "type".to_owned(),
                AttributeValue::S("power".into()),
            )]))]),
        ),
    ]);
    tables
        .store
        .client()
        .put_item()
        .table_name(&tables.config.devices_table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let on = sample(
        "events/PowerController/PowerController.TurnOn.request.json",
        Some("bare-light"),
        None,
    );
    let answer = send(&tables, &on).await;
    assert_eq!(
        property(&answer, "Alexa.PowerController", "powerState").unwrap()["value"],
        "ON"
    );
    assert_eq!(
        stored(&tables, "bare-light").await.state.power_on,
        Some(true)
    );
}

#[tokio::test]
async fn a_directive_for_a_deleted_endpoint_is_no_such_endpoint_and_sends_its_delete_report() {
    use alexa_smart_home::alexa::Secret;
    use alexa_smart_home::gateway::GatewayRegion;
    use alexa_smart_home::store::NewGrant;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    // GIVEN a customer with events enabled who deleted the kitchen plug, which Alexa still shows
    let mut tables = TestTables::example_account().await;
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer Atza|ghost-buster"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&gateway)
        .await;
    tables.config.event_gateway_url = Some(gateway.uri());
    tables
        .store
        .put_grant(NewGrant {
            user_id: USER.into(),
            access_token: Secret::new("Atza|ghost-buster"),
            refresh_token: Secret::new("Atzr|ghost-buster"),
            expires_at: i64::MAX,
            region: GatewayRegion::NorthAmerica,
            granted_at: alexa_smart_home::clock::Clock::system().now_ms(),
        })
        .await
        .unwrap();
    tables
        .store
        .delete_device(&USER.into(), &"kitchen-plug".into())
        .await
        .unwrap();

    // WHEN the customer asks Alexa to turn it on
    let mut on = sample(
        "events/PowerController/PowerController.TurnOn.request.json",
        Some("kitchen-plug"),
        None,
    );
    on["directive"]["endpoint"]["scope"]["token"] = json!(TOKEN);
    let answer = send(&tables, &on).await;

    // THEN Alexa hears NO_SUCH_ENDPOINT, and a DeleteReport for it reached the gateway
    assert_eq!(error_type(&answer), "NO_SUCH_ENDPOINT");
    let sent = gateway.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    let report: Value = serde_json::from_slice(&sent[0].body).unwrap();
    schema::assert_valid(&report);
    assert_eq!(report["event"]["header"]["name"], "DeleteReport");
    assert_eq!(
        report["event"]["payload"]["endpoints"],
        json!([{"endpointId": "kitchen-plug"}])
    );

    // AND ReportState for it does the same
    let state = sample(
        "events/Alexa/Alexa.ReportState.request.json",
        Some("kitchen-plug"),
        None,
    );
    assert_eq!(error_type(&send(&tables, &state).await), "NO_SUCH_ENDPOINT");
    assert_eq!(gateway.received_requests().await.unwrap().len(), 2);
}
