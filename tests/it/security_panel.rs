//! Alarm panels (`Alexa.SecurityPanelController`) against the local servers: arming and its
//! refusals, disarming with the customer's PIN, the wrong-PIN limit under concurrent guesses,
//! and the PIN kept out of logs, tables, shadows and the maker's answers.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::{ArmState, Device};
use alexa_smart_home::handlers::security_panel::{MAX_PIN_ATTEMPTS, PIN_WINDOW_MS};
use alexa_smart_home::store::DeviceStore;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::{iot, sample, schema, send};

const USER: &str = "example-user";
const PANEL: &str = "home-alarm-panel";
/// The example account's panel's PIN (fixtures/example-account.json holds only its hash).
const PIN: &str = "1234";
const ARM: &str = "events/SecurityPanelController/SecurityPanelController.Arm.request.json";
const DISARM: &str = "events/SecurityPanelController/SecurityPanelController.Disarm.request.json";

fn arm(state: &str) -> Value {
    sample(ARM, None, Some(json!({"armState": state})))
}

fn disarm(pin: Option<&str>) -> Value {
    let payload = match pin {
        Some(pin) => json!({"authorization": {"type": "FOUR_DIGIT_PIN", "value": pin}}),
        None => json!({}),
    };
    sample(DISARM, None, Some(payload))
}

async fn panel(tables: &TestTables) -> Device {
    tables
        .store
        .device(&USER.into(), &PANEL.into())
        .await
        .unwrap()
        .expect("the panel")
}

/// The example account with its panel in `state` (merged into the seeded one).
async fn account_with_panel(state: Value) -> TestTables {
    let tables = TestTables::example_account().await;
    let mut device = panel(&tables).await;
    let mut seeded = serde_json::to_value(&device.state).unwrap();
    for (k, v) in state.as_object().unwrap() {
        seeded[k] = v.clone();
    }
    device.state = serde_json::from_value(seeded).unwrap();
    tables.store.put_device(&device).await.unwrap();
    tables
}

fn header_name(answer: &Value) -> (&str, &str) {
    let h = &answer["event"]["header"];
    (
        h["namespace"].as_str().unwrap(),
        h["name"].as_str().unwrap(),
    )
}

/// An `Alexa.SecurityPanelController` ErrorResponse's type.
fn panel_error(answer: &Value) -> &str {
    assert_eq!(
        header_name(answer),
        ("Alexa.SecurityPanelController", "ErrorResponse"),
        "{answer:#}"
    );
    answer["event"]["payload"]["type"].as_str().unwrap()
}

fn arm_state(answer: &Value) -> &str {
    answer["context"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["namespace"] == "Alexa.SecurityPanelController" && p["name"] == "armState")
        .expect("armState in the context")["value"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn arm_answers_with_the_exit_delay_and_disarm_with_the_right_pin() {
    let tables = TestTables::example_account().await;
    let answer = send(&tables, &arm("ARMED_AWAY")).await;
    assert_eq!(
        header_name(&answer),
        ("Alexa.SecurityPanelController", "Arm.Response"),
        "{answer:#}"
    );
    assert_eq!(answer["event"]["payload"]["exitDelayInSeconds"], 60);
    assert_eq!(arm_state(&answer), "ARMED_AWAY");
    assert_eq!(
        panel(&tables).await.state.arm_state,
        Some(ArmState::ArmedAway)
    );

    let answer = send(&tables, &disarm(Some(PIN))).await;
    assert_eq!(header_name(&answer), ("Alexa", "Response"), "{answer:#}");
    assert_eq!(arm_state(&answer), "DISARMED");
    let after = panel(&tables).await;
    assert_eq!(after.state.arm_state, Some(ArmState::Disarmed));
    assert!(
        after.pin_attempts.is_empty(),
        "a right PIN clears its attempt"
    );

    // Disarming a disarmed panel is a success, and checks no PIN: it tells a guesser nothing.
    let answer = send(&tables, &disarm(Some("0000"))).await;
    assert_eq!(header_name(&answer), ("Alexa", "Response"), "{answer:#}");
    assert!(panel(&tables).await.pin_attempts.is_empty());
}

#[tokio::test]
async fn each_refusal_of_arm_has_its_error_type_and_changes_nothing() {
    let zones = json!([{"name": "Back door", "endpointId": "back-door-contact"}, {"name": "Kitchen window"}]);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"armState": "ARMED_AWAY"}),
            "ARMED_STAY",
            "AUTHORIZATION_REQUIRED",
        ),
        (
            json!({"armState": "ARMED_AWAY"}),
            "ARMED_NIGHT",
            "AUTHORIZATION_REQUIRED",
        ),
        (json!({"fireAlarm": true}), "ARMED_AWAY", "UNCLEARED_ALARM"),
        (
            json!({"panelTrouble": true}),
            "ARMED_STAY",
            "UNCLEARED_TROUBLE",
        ),
        (json!({"openZones": zones}), "ARMED_AWAY", "BYPASS_NEEDED"),
        (json!({"panelNotReady": true}), "ARMED_NIGHT", "NOT_READY"),
    ];
    for (state, asked, expected) in cases {
        let tables = account_with_panel(state.clone()).await;
        let before = panel(&tables).await;
        let answer = send(&tables, &arm(asked)).await;
        assert_eq!(panel_error(&answer), expected, "{state} {asked}");
        assert!(answer.get("context").is_none());
        assert_eq!(
            panel(&tables).await,
            before,
            "{state} {asked}: a refusal changes nothing"
        );
        if expected == "BYPASS_NEEDED" {
            assert_eq!(
                answer["event"]["payload"]["endpointsNeedingBypass"],
                json!([
                    {"friendlyName": "Back door", "endpointId": "back-door-contact"},
                    {"friendlyName": "Kitchen window"}
                ])
            );
        }
    }
    // Armed away, asked away again: armed away, as asked.
    let tables = account_with_panel(json!({"armState": "ARMED_AWAY"})).await;
    let answer = send(&tables, &arm("ARMED_AWAY")).await;
    assert_eq!(header_name(&answer).1, "Arm.Response", "{answer:#}");
    // An arm state Alexa knows but the panel does not take.
    let tables = TestTables::example_account().await;
    let mut device = panel(&tables).await;
    device.definition.capabilities = vec![
        serde_json::from_value(json!({
            "type": "securityPanel", "armStates": ["ARMED_AWAY"], "pin": true
        }))
        .unwrap(),
    ];
    tables.store.put_device(&device).await.unwrap();
    let answer = send(&tables, &arm("ARMED_NIGHT")).await;
    assert_eq!(answer["event"]["payload"]["type"], "INVALID_VALUE");
    let answer = send(&tables, &arm("DISARMED")).await;
    assert_eq!(answer["event"]["payload"]["type"], "INVALID_VALUE");
    assert_eq!(panel(&tables).await, device);
}

#[tokio::test]
async fn a_wrong_or_missing_pin_is_unauthorized_and_disarms_nothing() {
    let tables = account_with_panel(json!({"armState": "ARMED_STAY"})).await;
    for pin in [Some("4321"), Some("12345"), Some("abcd"), None] {
        let answer = send(&tables, &disarm(pin)).await;
        assert_eq!(panel_error(&answer), "UNAUTHORIZED", "{pin:?}");
        assert_eq!(
            panel(&tables).await.state.arm_state,
            Some(ArmState::ArmedStay)
        );
    }
    // Three PINs were checked (and are counted); a missing one is refused unchecked.
    assert_eq!(panel(&tables).await.pin_attempts.len(), 3);
}

/// Twenty wrong PINs at once: at most five are ever checked, the rest refused unchecked; then
/// even the right PIN is refused until the window has passed, and works after.
#[tokio::test]
async fn the_wrong_pin_limit_holds_under_concurrent_guesses_and_ends() {
    let tables = account_with_panel(json!({"armState": "ARMED_AWAY"})).await;
    let clock = Clock::at_ms(1_800_000_000_000);
    let skill =
        Arc::new(support::skill(tables.store.clone(), &tables.config).with_clock(clock.clone()));
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..20 {
        let skill = skill.clone();
        let guess = disarm(Some(&format!("{:04}", 5000 + n))).to_string();
        guesses.spawn(async move { support::json(&skill.handle(&guess).await) });
    }
    for answer in guesses.join_all().await {
        schema::assert_valid(&answer);
        assert_eq!(panel_error(&answer), "UNAUTHORIZED");
    }
    let after = panel(&tables).await;
    assert_eq!(after.pin_attempts.len(), MAX_PIN_ATTEMPTS);
    assert_eq!(after.state.arm_state, Some(ArmState::ArmedAway));

    let right = disarm(Some(PIN)).to_string();
    clock.advance(Duration::from_millis(
        u64::try_from(PIN_WINDOW_MS).unwrap() - 1_000,
    ));
    let answer = support::json(&skill.handle(&right).await);
    assert_eq!(panel_error(&answer), "UNAUTHORIZED", "still locked out");
    assert_eq!(panel(&tables).await.pin_attempts.len(), MAX_PIN_ATTEMPTS);

    clock.advance(Duration::from_secs(2));
    let answer = support::json(&skill.handle(&right).await);
    schema::assert_valid(&answer);
    assert_eq!(header_name(&answer), ("Alexa", "Response"), "{answer:#}");
    let after = panel(&tables).await;
    assert_eq!(after.state.arm_state, Some(ArmState::Disarmed));
    assert!(after.pin_attempts.is_empty());
}

/// The PIN read back raw from everywhere it could have gone: the logs at DEBUG, the devices
/// table's item, and (for a panel behind IoT) its shadow.
#[tokio::test(flavor = "current_thread")]
async fn the_pin_reaches_no_log_table_or_shadow() {
    let logs = support::logs::capture();
    let tables = account_with_panel(json!({"armState": "ARMED_NIGHT"})).await;
    assert_eq!(
        panel_error(&send(&tables, &disarm(Some("8642"))).await),
        "UNAUTHORIZED"
    );
    let answer = send(&tables, &disarm(Some(PIN))).await;
    assert_eq!(header_name(&answer).1, "Response");

    // The panel behind IoT: its shadow is asked for DISARMED, and nothing else.
    let mut device = panel(&tables).await;
    device.definition.endpoint_id = "iot-alarm-panel".into();
    device.definition.device_cloud = Some(alexa_smart_home::cloud::Adapter::Iot);
    device.thing_name = Some(format!("panel-{}", uuid::Uuid::new_v4().simple()));
    device.state.arm_state = Some(ArmState::ArmedAway);
    tables.store.put_device(&device).await.unwrap();
    let shadows = iot::shadows(tables.store.clone(), &tables.config).await;
    shadows.create_thing(device.thing()).await.unwrap();
    let skill = iot::skill(tables.store.clone(), &tables.config).await;
    let aimed = |pin| {
        sample(
            DISARM,
            Some("iot-alarm-panel"),
            Some(json!({"authorization": {"type": "FOUR_DIGIT_PIN", "value": pin}})),
        )
    };
    let wrong = support::json(&skill.handle(&aimed("9753").to_string()).await);
    assert_eq!(panel_error(&wrong), "UNAUTHORIZED");
    let right = support::json(&skill.handle(&aimed(PIN).to_string()).await);
    schema::assert_valid(&right);
    assert_eq!(header_name(&right).1, "Response", "{right:#}");
    let shadow = shadows.desired(device.thing(), None).await.unwrap();
    assert_eq!(shadow["armState"], "DISARMED");

    let raw_items = tables
        .store
        .client()
        .scan()
        .table_name(&tables.config.devices_table)
        .send()
        .await
        .unwrap();
    let items = format!("{:?}", raw_items.items());
    let text = logs.text();
    let shadow_text = shadow.to_string();
    // A PIN as a log would carry it: quoted (a directive, a body, a Debug of a string) or as a
    // field's value. (Not any four digits: DEBUG logs are full of numbers and ids.)
    let leaked = |pin: &str| {
        [
            format!("\"{pin}\""),
            format!("\\\"{pin}\\\""),
            format!("={pin}"),
            format!(": {pin}"),
        ]
        .iter()
        .any(|form| text.contains(form.as_str()))
    };
    assert!(text.contains("wrong PIN"), "the logs were captured");
    for pin in [PIN, "8642", "9753"] {
        assert!(!leaked(pin), "PIN {pin} in the logs");
        assert!(
            !items.contains(&format!("\"{pin}\"")),
            "PIN {pin} in the devices table"
        );
        assert!(!shadow_text.contains(pin), "PIN {pin} in the shadow");
    }
    assert!(items.contains("pinHash"), "the items were read");
    assert!(
        matches!(
            raw_items.items().iter().find(|i| i.get("endpointId") == Some(&AttributeValue::S(PANEL.into()))).and_then(|i| i.get("pinHash")),
            Some(AttributeValue::S(h)) if h.starts_with("$argon2id$")
        ),
        "the panel's item holds the PIN's hash"
    );
}

/// A panel behind the maker's API: the PIN goes in the signed command, and the maker's
/// UNAUTHORIZED counts as a wrong PIN; its other refusals are the panel's.
#[tokio::test]
async fn the_makers_api_checks_the_pin_it_is_sent() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
    let maker = MockServer::start().await;
    let mut tables = account_with_panel(json!({"armState": "ARMED_AWAY"})).await;
    tables.config.device_api_url = Some(maker.uri());
    tables.config.device_api_secret = Some(alexa_smart_home::alexa::Secret::new("maker-secret"));
    let mut device = panel(&tables).await;
    device.definition.device_cloud = Some(alexa_smart_home::cloud::Adapter::Https);
    device.pin_hash = None;
    tables.store.put_device(&device).await.unwrap();

    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": "UNAUTHORIZED"})))
        .up_to_n_times(1)
        .mount(&maker)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "error": "BYPASS_NEEDED", "zones": [{"name": "Garage side door"}]
        })))
        .up_to_n_times(1)
        .mount(&maker)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"state": {"armState": "DISARMED"}})),
        )
        .mount(&maker)
        .await;

    let answer = send(&tables, &disarm(Some("2468"))).await;
    assert_eq!(panel_error(&answer), "UNAUTHORIZED");
    assert_eq!(
        panel(&tables).await.pin_attempts.len(),
        1,
        "the maker's no counts"
    );
    let answer = send(&tables, &disarm(Some(PIN))).await;
    assert_eq!(panel_error(&answer), "BYPASS_NEEDED");
    assert_eq!(
        answer["event"]["payload"]["endpointsNeedingBypass"],
        json!([{"friendlyName": "Garage side door"}])
    );
    let answer = send(&tables, &disarm(Some(PIN))).await;
    assert_eq!(header_name(&answer), ("Alexa", "Response"), "{answer:#}");
    assert_eq!(arm_state(&answer), "DISARMED");
    let after = panel(&tables).await;
    assert_eq!(after.state.arm_state, Some(ArmState::Disarmed));
    assert!(after.pin_attempts.is_empty(), "the maker's yes clears them");

    let sent = maker.received_requests().await.unwrap();
    let first: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        first["authorization"],
        json!({"type": "FOUR_DIGIT_PIN", "value": "2468"})
    );
    assert_eq!(first["desired"], json!({"armState": "DISARMED"}));
}
