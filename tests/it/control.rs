//! Control directives and ReportState against the real local DynamoDB-compatible server: every
//! sample directive in `events/` changes the stored state and is answered with a valid
//! response; each error type that applies is answered as Alexa expects.

use crate::support;

use std::collections::HashMap;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::{
    Channel, Connectivity, Device, DeviceAction, DeviceCapability, EqualizerMode, Field, LockState,
    PlaybackOperation, PlaybackState,
};
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

/// The one-off request a device last stored: its id, which must be the directive's, not empty.
fn action_id(action: &DeviceAction) -> &str {
    match action {
        DeviceAction::Playback { id, .. }
        | DeviceAction::VolumeSteps { id, .. }
        | DeviceAction::SkipChannels { id, .. } => id,
    }
}

/// Whether the device's last one-off request is `operation`, with an id.
fn is_playback(d: &Device, operation: PlaybackOperation) -> bool {
    matches!(&d.state.action,
        Some(a @ DeviceAction::Playback { operation: o, .. }) if *o == operation && !action_id(a).is_empty())
}

/// The equalizer's levels: bass, midrange, treble.
fn bands(d: &Device) -> [Option<i32>; 3] {
    let b = d.state.equalizer_bands.unwrap_or_default();
    [b.bass, b.midrange, b.treble]
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
        // The TV, seeded on and playing. The operations that decide a playback state store
        // it, and the operation as a one-off request (`action`) with the directive's id.
        (
            "PlaybackController",
            "Play",
            "home-theater-tv",
            |d| {
                d.state.playback_state == Some(PlaybackState::Playing)
                    && is_playback(d, PlaybackOperation::Play)
            },
            (
                "Alexa.PlaybackStateReporter",
                "playbackState",
                json!({"state": "PLAYING"}),
            ),
        ),
        (
            "PlaybackController",
            "Pause",
            "home-theater-tv",
            |d| {
                d.state.playback_state == Some(PlaybackState::Paused)
                    && is_playback(d, PlaybackOperation::Pause)
            },
            (
                "Alexa.PlaybackStateReporter",
                "playbackState",
                json!({"state": "PAUSED"}),
            ),
        ),
        (
            "PlaybackController",
            "Stop",
            "home-theater-tv",
            |d| {
                d.state.playback_state == Some(PlaybackState::Stopped)
                    && is_playback(d, PlaybackOperation::Stop)
            },
            (
                "Alexa.PlaybackStateReporter",
                "playbackState",
                json!({"state": "STOPPED"}),
            ),
        ),
        (
            "PlaybackController",
            "StartOver",
            "home-theater-tv",
            |d| {
                d.state.playback_state == Some(PlaybackState::Playing)
                    && is_playback(d, PlaybackOperation::StartOver)
            },
            (
                "Alexa.PlaybackStateReporter",
                "playbackState",
                json!({"state": "PLAYING"}),
            ),
        ),
        // Amazon's sample says "HDMI1": the TV's "HDMI 1" (seeded on "TV").
        (
            "InputController",
            "SelectInput",
            "home-theater-tv",
            |d| d.state.input.as_deref() == Some("HDMI 1"),
            ("Alexa.InputController", "input", json!("HDMI 1")),
        ),
        // Every identifier Alexa resolved is stored and reported; the name the customer said
        // (`channelMetadata.name`) is stored for the device cloud, not reported.
        (
            "ChannelController",
            "ChangeChannel",
            "home-theater-tv",
            |d| {
                d.state.channel.as_deref()
                    == Some(&Channel {
                        number: Some("1234".into()),
                        call_sign: Some("KSTATION1".into()),
                        affiliate_call_sign: Some("KSTATION2".into()),
                        uri: Some("someUrl".into()),
                        name: Some("Alternate Channel Name".into()),
                    })
            },
            (
                "Alexa.ChannelController",
                "channel",
                json!({"number": "1234", "callSign": "KSTATION1",
                    "affiliateCallSign": "KSTATION2", "uri": "someUrl"}),
            ),
        ),
        // The receiver, seeded at bass 2, midrange 0, treble -1, in MOVIE mode: bass -2 and
        // treble 3; the others keep their level.
        (
            "EqualizerController",
            "SetBands",
            "living-room-receiver",
            |d| bands(d) == [Some(-2), Some(0), Some(3)],
            (
                "Alexa.EqualizerController",
                "bands",
                json!([{"name": "BASS", "value": -2}, {"name": "MIDRANGE", "value": 0},
                    {"name": "TREBLE", "value": 3}]),
            ),
        ),
        // bass +3
        (
            "EqualizerController",
            "AdjustBands",
            "living-room-receiver",
            |d| bands(d) == [Some(5), Some(0), Some(-1)],
            (
                "Alexa.EqualizerController",
                "bands",
                json!([{"name": "BASS", "value": 5}, {"name": "MIDRANGE", "value": 0},
                    {"name": "TREBLE", "value": -1}]),
            ),
        ),
        // all three back to the default level, 0
        (
            "EqualizerController",
            "ResetBands",
            "living-room-receiver",
            |d| bands(d) == [Some(0), Some(0), Some(0)],
            (
                "Alexa.EqualizerController",
                "bands",
                json!([{"name": "BASS", "value": 0}, {"name": "MIDRANGE", "value": 0},
                    {"name": "TREBLE", "value": 0}]),
            ),
        ),
        (
            "EqualizerController",
            "SetMode",
            "living-room-receiver",
            |d| d.state.equalizer_mode == Some(EqualizerMode::Night),
            ("Alexa.EqualizerController", "mode", json!("NIGHT")),
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

    // The media directives' values out of range, each with its valid range, the device left
    // as it was.
    let steps = json!({"minimumValue": -100.0, "maximumValue": 100.0});
    let levels = json!({"minimumValue": -6.0, "maximumValue": 6.0});
    let day = json!({"minimumValue": -86_400_000.0, "maximumValue": 86_400_000.0});
    let cases = [
        (
            "events/StepSpeaker/StepSpeaker.AdjustVolume.request.json",
            json!({"volumeSteps": 101}),
            steps.clone(),
        ),
        (
            "events/StepSpeaker/StepSpeaker.AdjustVolume.request.json",
            json!({"volumeSteps": -101}),
            steps.clone(),
        ),
        (
            "events/ChannelController/ChannelController.SkipChannels.request.json",
            json!({"channelCount": 0}),
            steps.clone(),
        ),
        (
            "events/ChannelController/ChannelController.SkipChannels.request.json",
            json!({"channelCount": 101}),
            steps.clone(),
        ),
        (
            "events/ChannelController/ChannelController.SkipChannels.request.json",
            json!({"channelCount": -101}),
            steps,
        ),
        (
            "events/EqualizerController/EqualizerController.SetBands.request.json",
            json!({"bands": [{"name": "BASS", "value": 7}]}),
            levels.clone(),
        ),
        // One band out of range refuses the others too.
        (
            "events/EqualizerController/EqualizerController.SetBands.request.json",
            json!({"bands": [{"name": "BASS", "value": 1}, {"name": "TREBLE", "value": -7}]}),
            levels,
        ),
        // A change of more than the whole range (12)
        (
            "events/EqualizerController/EqualizerController.AdjustBands.request.json",
            json!({"bands": [{"name": "BASS", "levelDelta": 13, "levelDirection": "DOWN"}]}),
            json!({"minimumValue": -12.0, "maximumValue": 12.0}),
        ),
        (
            SEEK,
            json!({"deltaPositionMilliseconds": 86_400_001}),
            day.clone(),
        ),
        (SEEK, json!({"deltaPositionMilliseconds": -86_400_001}), day),
    ];
    for (file, payload, range) in cases {
        let answer = refused(
            &tables,
            &sample(file, None, Some(payload.clone())),
            "VALUE_OUT_OF_RANGE",
        )
        .await;
        assert_eq!(
            answer["event"]["payload"]["validRange"], range,
            "{file} {payload}"
        );
    }

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

/// The example account's device `endpoint`, as seeded.
fn seeded(endpoint: &str) -> Device {
    alexa_smart_home::store::seed::Seed::from_json(&support::read("fixtures/example-account.json"))
        .unwrap()
        .devices
        .into_iter()
        .find(|d| d.definition.endpoint_id == endpoint)
        .unwrap_or_else(|| panic!("no {endpoint} in the example account"))
}

/// Asserts that `answer` is the `Alexa.Response` to `directive` for `endpoint`.
fn assert_response(answer: &Value, directive: &Value, endpoint: &str) {
    assert_eq!(
        answer["event"]["header"]["namespace"], "Alexa",
        "{directive}: {answer:#}"
    );
    assert_eq!(answer["event"]["header"]["name"], "Response", "{answer:#}");
    assert_eq!(
        answer["event"]["header"]["correlationToken"],
        directive["directive"]["header"]["correlationToken"]
    );
    assert_eq!(answer["event"]["endpoint"]["endpointId"], endpoint);
}

type ActionCheck = fn(&Device) -> bool;

#[tokio::test]
async fn one_off_requests_are_stored_as_the_devices_action_and_asking_twice_is_two_requests() {
    // interface, directive, payload (None: the sample's), endpoint, what must be stored
    let cases: Vec<(&str, &str, Option<Value>, &str, ActionCheck)> = vec![
        // Operations that decide no playback state leave the TV playing, as seeded.
        (
            "PlaybackController",
            "Previous",
            None,
            "home-theater-tv",
            |d| {
                is_playback(d, PlaybackOperation::Previous)
                    && d.state.playback_state == Some(PlaybackState::Playing)
            },
        ),
        ("PlaybackController", "Next", None, "home-theater-tv", |d| {
            is_playback(d, PlaybackOperation::Next)
                && d.state.playback_state == Some(PlaybackState::Playing)
        }),
        (
            "PlaybackController",
            "Rewind",
            None,
            "home-theater-tv",
            |d| {
                is_playback(d, PlaybackOperation::Rewind)
                    && d.state.playback_state == Some(PlaybackState::Playing)
            },
        ),
        (
            "PlaybackController",
            "FastForward",
            None,
            "home-theater-tv",
            |d| {
                is_playback(d, PlaybackOperation::FastForward)
                    && d.state.playback_state == Some(PlaybackState::Playing)
            },
        ),
        (
            "PlaybackController",
            "Pause",
            None,
            "home-theater-tv",
            |d| is_playback(d, PlaybackOperation::Pause),
        ),
        // Amazon's sample: 20 steps down.
        (
            "StepSpeaker",
            "AdjustVolume",
            None,
            "living-room-receiver",
            |d| {
                matches!(
                    d.state.action,
                    Some(DeviceAction::VolumeSteps { steps: -20, .. })
                )
            },
        ),
        // "Turn it up" with no number: Alexa's default count is replaced by the device's
        // own step (the receiver declares none: 1).
        (
            "StepSpeaker",
            "AdjustVolume",
            Some(json!({"volumeSteps": 10, "volumeStepsDefault": true})),
            "living-room-receiver",
            |d| {
                matches!(
                    d.state.action,
                    Some(DeviceAction::VolumeSteps { steps: 1, .. })
                )
            },
        ),
        (
            "StepSpeaker",
            "AdjustVolume",
            Some(json!({"volumeSteps": -10, "volumeStepsDefault": true})),
            "living-room-receiver",
            |d| {
                matches!(
                    d.state.action,
                    Some(DeviceAction::VolumeSteps { steps: -1, .. })
                )
            },
        ),
        // Amazon's sample: 5 channels up; the channel the TV was on stays its to report.
        (
            "ChannelController",
            "SkipChannels",
            None,
            "home-theater-tv",
            |d| {
                matches!(
                    d.state.action,
                    Some(DeviceAction::SkipChannels { count: 5, .. })
                ) && d.state.channel.as_ref().and_then(|c| c.number.as_deref()) == Some("7")
            },
        ),
    ];
    for (interface, name, payload, endpoint, check) in cases {
        let tables = TestTables::example_account().await;
        let file = format!("events/{interface}/{interface}.{name}.request.json");
        let directive = sample(&file, None, payload);

        let answer = send(&tables, &directive).await;
        assert_response(&answer, &directive, endpoint);
        let first = stored(&tables, endpoint).await;
        assert!(check(&first), "{file}: stored state {:?}", first.state);
        assert_eq!(first.changed_by, Some(CauseType::VoiceInteraction));
        let first_id = action_id(first.state.action.as_ref().unwrap()).to_owned();
        assert!(!first_id.is_empty(), "{file}: the action has an id");

        // The same directive again is another request, which the device cloud acts on again.
        let again = send(&tables, &directive).await;
        assert_response(&again, &directive, endpoint);
        let second = stored(&tables, endpoint).await;
        assert!(check(&second), "{file}: stored state {:?}", second.state);
        assert_ne!(
            action_id(second.state.action.as_ref().unwrap()),
            first_id,
            "{file}: two identical directives, one id"
        );
    }
}

#[tokio::test]
async fn step_speaker_mute_is_stored_and_answered_without_a_property_of_its_own() {
    // GIVEN the receiver, which knows no volume and reports nothing of StepSpeaker
    let tables = TestTables::example_account().await;
    let directive = sample(
        "events/StepSpeaker/StepSpeaker.SetMute.request.json",
        None,
        None,
    );
    // WHEN Alexa mutes it
    let answer = send(&tables, &directive).await;
    // THEN it is asked to mute, and the answer is a plain Response with the receiver's state
    assert_response(&answer, &directive, "living-room-receiver");
    let receiver = stored(&tables, "living-room-receiver").await;
    assert_eq!(receiver.state.muted, Some(true));
    assert_eq!(receiver.changed_by, Some(CauseType::VoiceInteraction));
    let properties = answer["context"]["properties"].as_array().unwrap();
    assert!(
        properties
            .iter()
            .all(|p| p["namespace"] != "Alexa.StepSpeaker"),
        "{answer:#}"
    );
    assert_eq!(
        property(&answer, "Alexa.InputController", "input").unwrap()["value"],
        "HDMI 1"
    );
}

#[tokio::test]
async fn select_input_takes_alexas_spelling_and_the_devices_friendly_names() {
    let tables = TestTables::example_account().await;
    let file = "events/InputController/InputController.SelectInput.request.json";
    // Alexa's names without case or spaces, and the friendly name of HDMI 1, as spoken.
    for (asked, selected) in [
        ("HDMI1", "HDMI 1"),
        ("hdmi 2", "HDMI 2"),
        ("TV", "TV"),
        ("Game console", "HDMI 1"),
        ("GAME CONSOLE", "HDMI 1"),
        ("gameconsole", "HDMI 1"),
    ] {
        let answer = send(&tables, &sample(file, None, Some(json!({"input": asked})))).await;
        assert_eq!(
            property(&answer, "Alexa.InputController", "input").unwrap()["value"],
            selected,
            "{asked}"
        );
        assert_eq!(
            stored(&tables, "home-theater-tv")
                .await
                .state
                .input
                .as_deref(),
            Some(selected),
            "{asked}"
        );
    }
}

/// A skill on `tables` that reads the time from `clock`, and its answer to `directive`,
/// checked against the schema.
async fn send_at(tables: &TestTables, clock: &Clock, directive: &Value) -> Value {
    let skill = support::skill(tables.store.clone(), &tables.config).with_clock(clock.clone());
    let answer = support::json(&skill.handle(&directive.to_string()).await);
    schema::assert_valid(&answer);
    answer
}

/// The position an `Alexa.SeekController` `StateReport` gives.
fn seek_position(answer: &Value, directive: &Value) -> i64 {
    assert_eq!(
        answer["event"]["header"]["namespace"], "Alexa.SeekController",
        "{answer:#}"
    );
    assert_eq!(answer["event"]["header"]["name"], "StateReport");
    assert_eq!(
        answer["event"]["header"]["correlationToken"],
        directive["directive"]["header"]["correlationToken"]
    );
    assert_eq!(answer["event"]["endpoint"]["endpointId"], "home-theater-tv");
    let reported = &answer["event"]["payload"]["properties"];
    assert_eq!(reported.as_array().unwrap().len(), 1, "{answer:#}");
    assert_eq!(reported[0]["name"], "positionMilliseconds");
    reported[0]["value"].as_i64().unwrap()
}

const SEEK: &str = "events/SeekController/SeekController.AdjustSeekPosition.request.json";

#[tokio::test]
async fn seek_answers_a_seek_controller_state_report_with_where_playback_is() {
    // GIVEN the TV, seeded playing at 20:00 (with no sample time: nothing is counted on)
    let tables = TestTables::example_account().await;
    let directive = sample(SEEK, None, None);

    // WHEN Alexa skips back 30 s (the sample)
    let answer = send(&tables, &directive).await;

    // THEN the TV is asked for 19:30, and Alexa is told so in a SeekController StateReport
    assert_eq!(seek_position(&answer, &directive), 1_170_000);
    let tv = stored(&tables, "home-theater-tv").await;
    assert_eq!(tv.state.playback_position_ms, Some(1_170_000));
    assert_eq!(tv.changed_by, Some(CauseType::VoiceInteraction));
    assert!(tv.sampled_at.contains_key(&Field::PlaybackPositionMs));
    // The position is in the payload only: it is no property Alexa reads in a context.
    assert!(
        answer["context"]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "positionMilliseconds")
    );

    // AND a seek before the start stops at the start
    let back = sample(
        SEEK,
        None,
        Some(json!({"deltaPositionMilliseconds": -86_400_000})),
    );
    assert_eq!(seek_position(&send(&tables, &back).await, &back), 0);
    assert_eq!(
        stored(&tables, "home-theater-tv")
            .await
            .state
            .playback_position_ms,
        Some(0)
    );
}

#[tokio::test]
async fn seek_while_playing_counts_the_time_played_since_the_positions_sample() {
    // GIVEN the TV playing, its position 20:00 as of 10 s ago
    let tables = TestTables::example_account().await;
    let clock = Clock::stopped();
    let now = clock.now_ms();
    let mut tv = seeded("home-theater-tv");
    tv.sampled_at
        .insert(Field::PlaybackPositionMs, now - 10_000);
    tables.store.put_device(&tv).await.unwrap();

    // WHEN Alexa skips forward 30 s
    let forward = sample(
        SEEK,
        None,
        Some(json!({"deltaPositionMilliseconds": 30_000})),
    );
    let answer = send_at(&tables, &clock, &forward).await;

    // THEN it goes from 20:10, where the film is now: 20:40
    assert_eq!(seek_position(&answer, &forward), 1_240_000);
    let stored_tv = stored(&tables, "home-theater-tv").await;
    assert_eq!(stored_tv.state.playback_position_ms, Some(1_240_000));
    assert_eq!(
        stored_tv.sampled_at.get(&Field::PlaybackPositionMs),
        Some(&now)
    );

    // AND 5 s later, from 20:45: back 60 s is 19:45
    clock.advance(std::time::Duration::from_secs(5));
    let back = sample(
        SEEK,
        None,
        Some(json!({"deltaPositionMilliseconds": -60_000})),
    );
    assert_eq!(
        seek_position(&send_at(&tables, &clock, &back).await, &back),
        1_185_000
    );

    // AND paused, the position stays where it was sampled, however long ago
    let mut paused = seeded("home-theater-tv");
    paused.state.playback_state = Some(PlaybackState::Paused);
    paused
        .sampled_at
        .insert(Field::PlaybackPositionMs, now - 600_000);
    tables.store.put_device(&paused).await.unwrap();
    assert_eq!(
        seek_position(&send_at(&tables, &clock, &forward).await, &forward),
        1_230_000
    );
}

#[tokio::test]
async fn hold_and_resume_hold_the_vacuums_run_and_resume_it() {
    // GIVEN the robot vacuum, seeded running
    let tables = TestTables::example_account().await;
    for (name, held) in [
        ("Hold", true),
        ("Hold", true),
        ("Resume", false),
        ("Resume", false),
    ] {
        // WHEN Alexa holds it (twice: held is held) or resumes it (twice)
        let file = format!("events/TimeHoldController/TimeHoldController.{name}.request.json");
        let directive = sample(&file, None, None);
        let answer = send(&tables, &directive).await;
        // THEN it is asked to, and answered with a Response
        assert_response(&answer, &directive, "robot-vacuum");
        let vacuum = stored(&tables, "robot-vacuum").await;
        assert_eq!(vacuum.state.on_hold, Some(held), "{file}");
        assert_eq!(vacuum.state.power_on, Some(true));
        assert_eq!(vacuum.changed_by, Some(CauseType::VoiceInteraction));
    }
}

/// Sends `directive`, which its device must refuse with `expected`: the answer (checked
/// against the schema by `send`), after checking that the stored device did not change.
async fn refused(tables: &TestTables, directive: &Value, expected: &str) -> Value {
    let endpoint = directive["directive"]["endpoint"]["endpointId"]
        .as_str()
        .unwrap();
    let before = stored(tables, endpoint).await;
    let answer = send(tables, directive).await;
    assert_eq!(error_type(&answer), expected, "{directive}");
    assert_eq!(
        stored(tables, endpoint).await,
        before,
        "a refusal changes nothing: {directive}"
    );
    answer
}

/// Every sample directive of `interfaces` (folders of `events/`).
fn samples_of(interfaces: &[&str]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for interface in interfaces {
        let mut files: Vec<String> =
            std::fs::read_dir(support::repo_path(&format!("events/{interface}")))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|f| f.ends_with(".request.json"))
                .collect();
        files.sort();
        for f in files {
            let file = format!("events/{interface}/{f}");
            let directive = sample(&file, None, None);
            out.push((file, directive));
        }
    }
    out
}

#[tokio::test]
async fn values_the_device_does_not_have_are_invalid_value() {
    // GIVEN the example account, and a second receiver whose equalizer has no midrange
    let tables = TestTables::example_account().await;
    let mut den = seeded("living-room-receiver");
    den.definition.endpoint_id = "den-receiver".into();
    for c in &mut den.definition.capabilities {
        if let DeviceCapability::Equalizer { bands, .. } = c {
            bands.retain(|b| *b != alexa_smart_home::device::Band::Midrange);
        }
    }
    den.state.equalizer_bands = None;
    tables.store.put_device(&den).await.unwrap();

    let input = "events/InputController/InputController.SelectInput.request.json";
    let eq =
        |name: &str| format!("events/EqualizerController/EqualizerController.{name}.request.json");
    let cases = [
        // An input the TV does not have, and the receiver's friendly name, which is not the TV's.
        (input.to_owned(), None, json!({"input": "HDMI 3"})),
        (input.to_owned(), None, json!({"input": "Blu-ray player"})),
        (input.to_owned(), None, json!({"input": ""})),
        // A mode Alexa knows that the receiver lacks, and one nobody knows.
        (eq("SetMode"), None, json!({"mode": "SPORT"})),
        (eq("SetMode"), None, json!({"mode": "DISCO"})),
        (eq("SetMode"), None, json!({"mode": "night"})),
        // A band the den receiver lacks, alone or with one it has.
        (
            eq("SetBands"),
            Some("den-receiver"),
            json!({"bands": [{"name": "MIDRANGE", "value": 1}]}),
        ),
        (
            eq("SetBands"),
            Some("den-receiver"),
            json!({"bands": [{"name": "BASS", "value": 1}, {"name": "MIDRANGE", "value": 1}]}),
        ),
        (
            eq("AdjustBands"),
            Some("den-receiver"),
            json!({"bands": [{"name": "MIDRANGE", "levelDirection": "UP"}]}),
        ),
        (
            eq("ResetBands"),
            Some("den-receiver"),
            json!({"bands": [{"name": "MIDRANGE"}]}),
        ),
    ];
    for (file, endpoint, payload) in cases {
        refused(
            &tables,
            &sample(&file, endpoint, Some(payload)),
            "INVALID_VALUE",
        )
        .await;
    }
}

#[tokio::test]
async fn a_tv_or_receiver_that_is_off_takes_no_media_directive_asleep() {
    // GIVEN the TV and the receiver, switched off
    let tables = TestTables::example_account().await;
    for endpoint in ["home-theater-tv", "living-room-receiver"] {
        let mut off = seeded(endpoint);
        off.state.power_on = Some(false);
        tables.store.put_device(&off).await.unwrap();
    }
    // WHEN any of their media directives arrives
    let all = samples_of(&[
        "StepSpeaker",
        "PlaybackController",
        "SeekController",
        "InputController",
        "ChannelController",
        "EqualizerController",
    ]);
    assert_eq!(all.len(), 18);
    for (file, directive) in all {
        // THEN it is refused as not possible while asleep, and nothing changes
        let answer = refused(&tables, &directive, "NOT_SUPPORTED_IN_CURRENT_MODE").await;
        assert_eq!(
            answer["event"]["payload"]["currentDeviceMode"], "ASLEEP",
            "{file}"
        );
    }
    // AND switched on again, it takes them
    let on = sample(
        "events/PowerController/PowerController.TurnOn.request.json",
        Some("home-theater-tv"),
        None,
    );
    send(&tables, &on).await;
    let next = sample(
        "events/PlaybackController/PlaybackController.Next.request.json",
        None,
        None,
    );
    assert_response(&send(&tables, &next).await, &next, "home-theater-tv");
}

#[tokio::test]
async fn seeking_needs_something_playing_at_a_known_position() {
    let tables = TestTables::example_account().await;
    // A stopped TV, and one whose position was never reported.
    let mut stopped = seeded("home-theater-tv");
    stopped.state.playback_state = Some(PlaybackState::Stopped);
    let mut unknown = seeded("home-theater-tv");
    unknown.state.playback_position_ms = None;
    for tv in [stopped, unknown] {
        tables.store.put_device(&tv).await.unwrap();
        let answer = refused(
            &tables,
            &sample(SEEK, None, None),
            "NOT_SUPPORTED_IN_CURRENT_MODE",
        )
        .await;
        assert_eq!(answer["event"]["payload"]["currentDeviceMode"], "OTHER");
    }
    // After the sample Stop, the sample seek is refused the same way.
    send(
        &tables,
        &sample(
            "events/PlaybackController/PlaybackController.Stop.request.json",
            None,
            None,
        ),
    )
    .await;
    let tv = stored(&tables, "home-theater-tv").await;
    assert_eq!(tv.state.playback_state, Some(PlaybackState::Stopped));
    let answer = refused(
        &tables,
        &sample(SEEK, None, None),
        "NOT_SUPPORTED_IN_CURRENT_MODE",
    )
    .await;
    assert_eq!(answer["event"]["payload"]["currentDeviceMode"], "OTHER");
}

#[tokio::test]
async fn a_vacuum_that_is_off_has_no_run_to_hold_or_resume() {
    let tables = TestTables::example_account().await;
    let mut off = seeded("robot-vacuum");
    off.state.power_on = Some(false);
    tables.store.put_device(&off).await.unwrap();
    for (_, directive) in samples_of(&["TimeHoldController"]) {
        refused(&tables, &directive, "NOT_IN_OPERATION").await;
    }
}

#[tokio::test]
async fn directives_the_device_does_not_take_are_invalid_directive() {
    // GIVEN a vacuum that is resumed only at the device, and a TV without skip or rewind
    let tables = TestTables::example_account().await;
    let mut vacuum = seeded("robot-vacuum");
    for c in &mut vacuum.definition.capabilities {
        if let DeviceCapability::TimeHold {
            allow_remote_resume,
        } = c
        {
            *allow_remote_resume = false;
        }
    }
    vacuum.state.on_hold = Some(true);
    tables.store.put_device(&vacuum).await.unwrap();
    let mut tv = seeded("home-theater-tv");
    for c in &mut tv.definition.capabilities {
        if let DeviceCapability::Playback { operations, .. } = c {
            *operations = vec![
                PlaybackOperation::Play,
                PlaybackOperation::Pause,
                PlaybackOperation::Stop,
            ];
        }
    }
    tables.store.put_device(&tv).await.unwrap();

    // WHEN Alexa resumes the vacuum, or asks the TV for an operation it did not declare
    let mut cases = vec![sample(
        "events/TimeHoldController/TimeHoldController.Resume.request.json",
        None,
        None,
    )];
    for name in ["StartOver", "Previous", "Next", "Rewind", "FastForward"] {
        cases.push(sample(
            &format!("events/PlaybackController/PlaybackController.{name}.request.json"),
            None,
            None,
        ));
    }
    // THEN each is refused, and nothing changes
    for directive in cases {
        refused(&tables, &directive, "INVALID_DIRECTIVE").await;
    }
    // AND holding it is still taken
    let hold = sample(
        "events/TimeHoldController/TimeHoldController.Hold.request.json",
        None,
        None,
    );
    assert_response(&send(&tables, &hold).await, &hold, "robot-vacuum");
}

#[tokio::test]
async fn playing_again_or_starting_over_moves_the_position_on_only_from_then() {
    // GIVEN the TV paused at 20:00 an hour ago
    let tables = TestTables::example_account().await;
    let clock = Clock::stopped();
    let now = clock.now_ms();
    let mut tv = seeded("home-theater-tv");
    tv.state.playback_state = Some(PlaybackState::Paused);
    tv.sampled_at
        .insert(Field::PlaybackPositionMs, now - 3_600_000);
    tables.store.put_device(&tv).await.unwrap();
    let forward = sample(
        SEEK,
        None,
        Some(json!({"deltaPositionMilliseconds": 30_000})),
    );
    let play = sample(
        "events/PlaybackController/PlaybackController.Play.request.json",
        None,
        None,
    );

    // WHEN Alexa plays it, and 10 s later skips 30 s
    send_at(&tables, &clock, &play).await;
    clock.advance(std::time::Duration::from_secs(10));
    let answer = send_at(&tables, &clock, &forward).await;

    // THEN it skips from 20:10, not from an hour of playing it never did
    assert_eq!(seek_position(&answer, &forward), 1_240_000);

    // AND after "start over", 5 s later, 30 s on is 0:35
    let start_over = sample(
        "events/PlaybackController/PlaybackController.StartOver.request.json",
        None,
        None,
    );
    send_at(&tables, &clock, &start_over).await;
    assert_eq!(
        stored(&tables, "home-theater-tv")
            .await
            .state
            .playback_position_ms,
        Some(0)
    );
    clock.advance(std::time::Duration::from_secs(5));
    assert_eq!(
        seek_position(&send_at(&tables, &clock, &forward).await, &forward),
        35_000
    );
}
