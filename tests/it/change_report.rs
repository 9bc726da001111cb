//! `Alexa.ChangeReport` end to end: a state write on the real local DynamoDB server (by the
//! device cloud, or by the skill answering a directive) → the table's stream, read as Lambda
//! would → the stream processor → the wiremock fake of the event gateway, where every event is
//! checked against Amazon's official schema.

use crate::support;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::device::properties::{UNKNOWN_UNCERTAINTY_MS, time_of_sample};
use alexa_smart_home::device::{Connectivity, Device, DeviceState, Field};
use alexa_smart_home::store::{DeviceStore, StateOutcome, StateWrite, TokenRecord};
use serde_json::{Value, json};
use support::proactive::*;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, Request, ResponseTemplate};

/// When the lamps' initial state was sampled (2023-11-14T22:13:20.000Z).
const EARLIER_MS: i64 = 1_700_000_000_000;

const SET_BRIGHTNESS: &str =
    "events/BrightnessController/BrightnessController.SetBrightness.request.json";

/// A dimmable white lamp: on, at 10 %, 2700 K, all sampled at [`EARLIER_MS`]. On, so that a
/// change of its brightness is one Alexa hears (an off lamp reads 0 %).
fn lamp(user: &str, id: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": format!("Lamp {id}"),
        "description": "Dimmable white bulb by Example Devices", "manufacturer": "Example Devices",
        "category": "LIGHT",
        "capabilities": [{"type": "power"}, {"type": "brightness"}, {"type": "colorTemperature"}],
        "state": {"powerOn": true, "brightness": 10, "colorTemperatureKelvin": 2700},
        "sampledAt": {"powerOn": EARLIER_MS, "brightness": EARLIER_MS, "colorTemperatureKelvin": EARLIER_MS},
    }))
    .unwrap()
}

fn scene(user: &str, id: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": "Movie Night",
        "description": "Scene by Example Devices", "manufacturer": "Example Devices",
        "category": "SCENE_TRIGGER",
        "capabilities": [{"type": "scene", "supportsDeactivation": true}],
    }))
    .unwrap()
}

fn brightness(v: u8) -> DeviceState {
    DeviceState {
        brightness: Some(v),
        ..DeviceState::default()
    }
}

/// The lamps' initial power state, written again.
fn still_on() -> DeviceState {
    DeviceState {
        power_on: Some(true),
        ..DeviceState::default()
    }
}

/// Writes a state change as the device cloud does; the device as written.
async fn write(
    h: &Harness,
    user: &str,
    id: &str,
    patch: DeviceState,
    connectivity: Option<Connectivity>,
    cause: CauseType,
    at_ms: i64,
) -> Device {
    let outcome = h
        .store()
        .update_state(
            &user.into(),
            &id.into(),
            &StateWrite {
                patch,
                connectivity,
                expected: None,
                cause,
                at_ms,
                shadow_version: None,
                unless_reported: None,
                answered: false,
            },
        )
        .await
        .unwrap();
    match outcome {
        StateOutcome::Written(device) => *device,
        other => panic!("{id} not written: {other:?}"),
    }
}

/// A list of property states reduced to namespace, name and value, for comparison.
fn nvs(properties: &Value) -> Value {
    properties
        .as_array()
        .expect("a list of properties")
        .iter()
        .map(|p| json!({"namespace": p["namespace"], "name": p["name"], "value": p["value"]}))
        .collect()
}

fn prop<'a>(properties: &'a Value, namespace: &str, name: &str) -> &'a Value {
    properties
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["namespace"] == namespace && p["name"] == name)
        .unwrap_or_else(|| panic!("no {namespace}.{name} in {properties}"))
}

fn changed(event: &Value) -> &Value {
    &event["event"]["payload"]["change"]["properties"]
}

fn context(event: &Value) -> &Value {
    &event["context"]["properties"]
}

fn cause(event: &Value) -> &Value {
    &event["event"]["payload"]["change"]["cause"]["type"]
}

fn change_endpoint(event: &Value) -> &str {
    event["event"]["endpoint"]["endpointId"].as_str().unwrap()
}

fn requests_mentioning(requests: &[Request], text: &str) -> usize {
    requests
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(text))
        .count()
}

#[tokio::test]
async fn a_device_side_change_is_one_change_report_with_changed_properties_and_context() {
    // GIVEN a lamp that is on at 10 %, a customer with a grant, and a gateway that accepts
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    // WHEN the device cloud records that someone set it to 40 % and 4000 K in its app, 5 s ago
    let at_ms = h.clock.now_ms() - 5_000;
    let patch = DeviceState {
        brightness: Some(40),
        color_temperature_kelvin: Some(4000),
        ..DeviceState::default()
    };
    write(
        &h,
        &u,
        "lamp-1",
        patch,
        None,
        CauseType::PhysicalInteraction,
        at_ms,
    )
    .await;
    let (batch, response) = h.run_batch().await;

    // THEN exactly one event: a ChangeReport of that lamp, with the customer's LWA token
    assert_eq!(batch.records.len(), 1);
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    let report = &events[0];
    assert_eq!(report["event"]["header"]["namespace"], "Alexa");
    assert_eq!(report["event"]["header"]["payloadVersion"], "3");
    assert!(report["event"]["header"].get("correlationToken").is_none());
    assert_eq!(change_endpoint(report), "lamp-1");
    assert_eq!(
        report["event"]["endpoint"]["scope"],
        json!({"type": "BearerToken", "token": ACCESS})
    );
    assert_eq!(
        h.gateway_requests().await[0]
            .headers
            .get("authorization")
            .unwrap(),
        &format!("Bearer {ACCESS}")
    );

    // AND the cause and the changed properties, sampled when the write says
    assert_eq!(cause(report), "PHYSICAL_INTERACTION");
    assert_eq!(
        nvs(changed(report)),
        json!([
            {"namespace": "Alexa.BrightnessController", "name": "brightness", "value": 40},
            {"namespace": "Alexa.ColorTemperatureController", "name": "colorTemperatureInKelvin", "value": 4000},
        ])
    );
    for p in changed(report).as_array().unwrap() {
        assert_eq!(p["timeOfSample"], time_of_sample(at_ms), "{p}");
        assert!(
            p["uncertaintyInMilliseconds"]
                .as_u64()
                .is_some_and(|ms| ms >= 5_000),
            "measured from the sample, not from the send: {p}"
        );
    }

    // AND the unchanged reportable properties, connectivity included, as context
    assert_eq!(
        nvs(context(report)),
        json!([
            {"namespace": "Alexa.PowerController", "name": "powerState", "value": "ON"},
            {"namespace": "Alexa.EndpointHealth", "name": "connectivity", "value": {"value": "OK"}},
        ])
    );
    let power = prop(context(report), "Alexa.PowerController", "powerState");
    assert_eq!(power["timeOfSample"], time_of_sample(EARLIER_MS));
    let connectivity = prop(context(report), "Alexa.EndpointHealth", "connectivity");
    assert_eq!(
        connectivity["uncertaintyInMilliseconds"],
        json!(UNKNOWN_UNCERTAINTY_MS),
        "connectivity was never sampled: its age is unknown"
    );
}

#[tokio::test]
async fn every_device_side_cause_is_carried() {
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    let causes = [
        (CauseType::AppInteraction, "APP_INTERACTION"),
        (CauseType::PeriodicPoll, "PERIODIC_POLL"),
        (CauseType::RuleTrigger, "RULE_TRIGGER"),
        (CauseType::PhysicalInteraction, "PHYSICAL_INTERACTION"),
    ];
    for (i, (cause_type, expected)) in causes.into_iter().enumerate() {
        // GIVEN a brightness change made by `cause_type`
        let level = 50 + u8::try_from(i).unwrap();
        write(
            &h,
            &u,
            "lamp-1",
            brightness(level),
            None,
            cause_type,
            h.clock.now_ms(),
        )
        .await;

        // WHEN its batch is processed
        let (_, response) = h.run_batch().await;

        // THEN one more ChangeReport, with that cause and that brightness
        no_failures(&response);
        let events = h.events().await;
        assert_eq!(events.len(), i + 1);
        let report = events.last().unwrap();
        assert_eq!(names(&events[i..]), ["ChangeReport"]);
        assert_eq!(cause(report), expected);
        assert_eq!(
            nvs(changed(report)),
            json!([{"namespace": "Alexa.BrightnessController", "name": "brightness", "value": level}])
        );
    }
}

#[tokio::test]
async fn a_change_made_by_an_alexa_directive_is_reported_as_voice_interaction() {
    // GIVEN a lamp at 10 %, its customer's account-linking token, and a grant
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    let token = format!("link-{}", uuid::Uuid::new_v4().simple());
    h.store()
        .put_token(
            &BearerToken::new(&token),
            &TokenRecord {
                user_id: u.clone(),
                expires_at: None,
            },
        )
        .await
        .unwrap();

    // WHEN Alexa sends SetBrightness 75 for it through the skill
    let mut directive: Value =
        serde_json::from_str(&support::directive_with_token(SET_BRIGHTNESS, &token)).unwrap();
    directive["directive"]["endpoint"]["endpointId"] = json!("lamp-1");
    assert_eq!(directive["directive"]["payload"]["brightness"], 75);
    let skill = support::skill(h.store().clone(), &h.tables.config);
    let answer = support::json(&skill.handle(&directive.to_string()).await);
    assert_eq!(answer["event"]["header"]["name"], "Response", "{answer}");

    // AND the stream batch of that write is processed
    let (batch, response) = h.run_batch().await;

    // THEN exactly one ChangeReport, caused by voice, with the new brightness only
    assert_eq!(batch.records.len(), 1);
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    let report = &events[0];
    assert_eq!(change_endpoint(report), "lamp-1");
    assert_eq!(cause(report), "VOICE_INTERACTION");
    assert_eq!(
        nvs(changed(report)),
        json!([{"namespace": "Alexa.BrightnessController", "name": "brightness", "value": 75}])
    );
    assert_eq!(
        nvs(context(report)),
        json!([
            {"namespace": "Alexa.PowerController", "name": "powerState", "value": "ON"},
            {"namespace": "Alexa.ColorTemperatureController", "name": "colorTemperatureInKelvin", "value": 2700},
            {"namespace": "Alexa.EndpointHealth", "name": "connectivity", "value": {"value": "OK"}},
        ])
    );

    // AND it tells the same sample time as the directive's answer did
    let answered = prop(
        &answer["context"]["properties"],
        "Alexa.BrightnessController",
        "brightness",
    );
    assert_eq!(answered["value"], 75);
    assert_eq!(changed(report)[0]["timeOfSample"], answered["timeOfSample"]);
}

#[tokio::test]
async fn writing_the_same_values_again_sends_nothing() {
    // GIVEN a lamp that is on at 40 % (a change already reported)
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    let on_at_40 = DeviceState {
        power_on: Some(true),
        brightness: Some(40),
        ..DeviceState::default()
    };
    let first = h.clock.now_ms();
    write(
        &h,
        &u,
        "lamp-1",
        on_at_40.clone(),
        None,
        CauseType::PhysicalInteraction,
        first,
    )
    .await;
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(names(&h.events().await), ["ChangeReport"]);

    // WHEN a later poll finds the same values (a new sample time, so the item does change)
    let polled = write(
        &h,
        &u,
        "lamp-1",
        on_at_40,
        Some(Connectivity::Ok),
        CauseType::PeriodicPoll,
        first + 1_000,
    )
    .await;
    assert_eq!(polled.sampled_at[&Field::Brightness], first + 1_000);
    let (batch, response) = h.run_batch().await;

    // THEN the batch holds that write, and no event is sent for it
    assert_eq!(batch.records.len(), 1);
    no_failures(&response);
    assert_eq!(names(&h.events().await), ["ChangeReport"]);

    // AND a real change after it is reported as usual
    write(
        &h,
        &u,
        "lamp-1",
        brightness(41),
        None,
        CauseType::AppInteraction,
        first + 2_000,
    )
    .await;
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport", "ChangeReport"]);
    assert_eq!(cause(&events[1]), "APP_INTERACTION");
    assert_eq!(
        nvs(changed(&events[1])),
        json!([{"namespace": "Alexa.BrightnessController", "name": "brightness", "value": 41}])
    );
}

#[tokio::test]
async fn a_change_of_something_alexa_is_not_told_about_sends_nothing() {
    // GIVEN a scene and an on/off-only plug (no brightness capability)
    let u = user();
    let mut h = Harness::new(&[scene(&u, "scene-1"), device(&u, "plug-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    // WHEN the scene's last command and the plug's (undeclared) brightness change
    let activated = DeviceState {
        scene_active: Some(true),
        ..DeviceState::default()
    };
    write(
        &h,
        &u,
        "scene-1",
        activated,
        None,
        CauseType::AppInteraction,
        h.clock.now_ms(),
    )
    .await;
    write(
        &h,
        &u,
        "plug-1",
        brightness(55),
        None,
        CauseType::PhysicalInteraction,
        h.clock.now_ms(),
    )
    .await;
    let (batch, response) = h.run_batch().await;

    // THEN both writes are in the batch (with, for items that had no state yet, the records of
    // the state maps added first), and nothing is sent
    assert!(batch.records.len() >= 2, "{} records", batch.records.len());
    no_failures(&response);
    assert!(h.gateway_requests().await.is_empty());

    // AND when the plug is then switched on, only its power state is reported; the brightness
    // it does not declare appears nowhere
    let on = DeviceState {
        power_on: Some(true),
        ..DeviceState::default()
    };
    write(
        &h,
        &u,
        "plug-1",
        on,
        None,
        CauseType::PhysicalInteraction,
        h.clock.now_ms(),
    )
    .await;
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(change_endpoint(&events[0]), "plug-1");
    assert_eq!(
        nvs(changed(&events[0])),
        json!([{"namespace": "Alexa.PowerController", "name": "powerState", "value": "ON"}])
    );
    assert_eq!(
        nvs(context(&events[0])),
        json!([{"namespace": "Alexa.EndpointHealth", "name": "connectivity", "value": {"value": "OK"}}])
    );
}

#[tokio::test]
async fn several_changes_of_one_endpoint_in_a_batch_are_one_report_of_the_latest_state() {
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    // GIVEN three brightness changes before the batch is read
    let start = h.clock.now_ms();
    for (i, level) in [10_u8, 20, 30].into_iter().enumerate() {
        let at = start + i64::try_from(i).unwrap();
        let state = brightness(level);
        write(
            &h,
            &u,
            "lamp-1",
            state,
            None,
            CauseType::PhysicalInteraction,
            at,
        )
        .await;
    }

    // WHEN the batch is processed
    let (batch, response) = h.run_batch().await;

    // THEN one ChangeReport, of the last value and its sample time
    assert_eq!(batch.records.len(), 3);
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(
        nvs(changed(&events[0])),
        json!([{"namespace": "Alexa.BrightnessController", "name": "brightness", "value": 30}])
    );
    assert_eq!(
        changed(&events[0])[0]["timeOfSample"],
        time_of_sample(start + 2)
    );
}

#[tokio::test]
async fn losing_and_regaining_connectivity_are_each_a_change() {
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    // GIVEN the device cloud loses the lamp (its poll also confirms the last known power state:
    // a write of connectivity alone fails, see `a_connectivity_only_write_is_a_change`)
    let lost_at = h.clock.now_ms();
    let lost = Some(Connectivity::Unreachable);
    write(
        &h,
        &u,
        "lamp-1",
        still_on(),
        lost,
        CauseType::PeriodicPoll,
        lost_at,
    )
    .await;
    let (_, response) = h.run_batch().await;

    // THEN a ChangeReport of connectivity alone, the rest as context
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(cause(&events[0]), "PERIODIC_POLL");
    assert_eq!(
        nvs(changed(&events[0])),
        json!([{"namespace": "Alexa.EndpointHealth", "name": "connectivity", "value": {"value": "UNREACHABLE"}}])
    );
    assert_eq!(
        changed(&events[0])[0]["timeOfSample"],
        time_of_sample(lost_at)
    );
    assert_eq!(
        nvs(context(&events[0])),
        json!([
            {"namespace": "Alexa.PowerController", "name": "powerState", "value": "ON"},
            {"namespace": "Alexa.BrightnessController", "name": "brightness", "value": 10},
            {"namespace": "Alexa.ColorTemperatureController", "name": "colorTemperatureInKelvin", "value": 2700},
        ])
    );

    // WHEN it is back
    let back_at = lost_at + 1_000;
    let back = Some(Connectivity::Ok);
    write(
        &h,
        &u,
        "lamp-1",
        still_on(),
        back,
        CauseType::PeriodicPoll,
        back_at,
    )
    .await;
    let (_, response) = h.run_batch().await;

    // THEN another ChangeReport, of connectivity OK
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport", "ChangeReport"]);
    assert_eq!(
        nvs(changed(&events[1])),
        json!([{"namespace": "Alexa.EndpointHealth", "name": "connectivity", "value": {"value": "OK"}}])
    );
    assert_eq!(
        changed(&events[1])[0]["timeOfSample"],
        time_of_sample(back_at)
    );
}

#[tokio::test]
async fn two_endpoints_are_two_reports_and_a_customer_without_a_grant_none() {
    // GIVEN a customer with a grant and two lamps, and one without a grant
    let (a, b) = (user(), user());
    let mut h = Harness::new(&[
        lamp(&a, "lamp-1"),
        lamp(&a, "lamp-2"),
        lamp(&b, "lamp-of-b"),
    ])
    .await;
    h.grant(&a, 3600).await;
    accept_all(&h.gateway).await;

    // WHEN all three lamps change in one batch
    let off = DeviceState {
        power_on: Some(false),
        ..DeviceState::default()
    };
    let physical = CauseType::PhysicalInteraction;
    write(
        &h,
        &a,
        "lamp-1",
        brightness(60),
        None,
        physical,
        h.clock.now_ms(),
    )
    .await;
    write(
        &h,
        &b,
        "lamp-of-b",
        brightness(60),
        None,
        physical,
        h.clock.now_ms(),
    )
    .await;
    write(
        &h,
        &a,
        "lamp-2",
        off,
        None,
        CauseType::RuleTrigger,
        h.clock.now_ms(),
    )
    .await;
    let (batch, response) = h.run_batch().await;

    // THEN two ChangeReports, one per changed lamp of the customer with the grant
    assert_eq!(batch.records.len(), 3);
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport", "ChangeReport"]);
    let mut reported: Vec<(&str, &Value)> = events
        .iter()
        .map(|e| (change_endpoint(e), cause(e)))
        .collect();
    reported.sort_by_key(|r| r.0);
    assert_eq!(
        reported,
        [
            ("lamp-1", &json!("PHYSICAL_INTERACTION")),
            ("lamp-2", &json!("RULE_TRIGGER"))
        ]
    );

    // AND nothing about the other customer's lamp, and no LWA call for them
    assert_eq!(
        requests_mentioning(&h.gateway_requests().await, "lamp-of-b"),
        0
    );
    assert!(h.lwa_requests().await.is_empty());
}

#[tokio::test]
async fn a_change_report_failing_past_the_retries_fails_the_batch_from_its_record() {
    // GIVEN two customers with grants; the gateway fails (500) four times for a's lamp
    let (a, b) = (user(), user());
    let mut h = Harness::new(&[lamp(&a, "lamp-of-a"), lamp(&b, "lamp-of-b")]).await;
    h.grant(&a, 3600).await;
    h.grant(&b, 3600).await;
    Mock::given(method("POST"))
        .and(body_string_contains("lamp-of-a"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(error_body("INTERNAL_SERVICE_EXCEPTION")),
        )
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&h.gateway)
        .await;
    accept_all(&h.gateway).await;

    // WHEN b's lamp, then a's lamp change, and the batch is processed
    let physical = CauseType::PhysicalInteraction;
    write(
        &h,
        &b,
        "lamp-of-b",
        brightness(70),
        None,
        physical,
        h.clock.now_ms(),
    )
    .await;
    write(
        &h,
        &a,
        "lamp-of-a",
        brightness(70),
        None,
        physical,
        h.clock.now_ms(),
    )
    .await;
    let (batch, response) = h.run_batch().await;

    // THEN a's ChangeReport was sent 1 + 3 times, b's once, and the batch fails from a's
    // record (the second)
    assert_eq!(batch.records.len(), 2);
    let requests = h.gateway_requests().await;
    assert_eq!(requests_mentioning(&requests, "lamp-of-a"), 4);
    assert_eq!(requests_mentioning(&requests, "lamp-of-b"), 1);
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        batch.records[1].change.sequence_number
    );

    // AND the redelivered batch starts at that record, and a's ChangeReport now gets through
    let (redelivered, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(
        redelivered.records[0].change.sequence_number,
        batch.records[1].change.sequence_number
    );
    let requests = h.gateway_requests().await;
    assert_eq!(requests_mentioning(&requests, "lamp-of-a"), 5);
    assert_eq!(requests_mentioning(&requests, "lamp-of-b"), 1);
    let events = h.events().await;
    let last = events.last().unwrap();
    assert_eq!(names(&events[events.len() - 1..]), ["ChangeReport"]);
    assert_eq!(change_endpoint(last), "lamp-of-a");
    assert_eq!(
        nvs(changed(last)),
        json!([{"namespace": "Alexa.BrightnessController", "name": "brightness", "value": 70}])
    );
}

#[tokio::test]
async fn a_connectivity_only_write_is_a_change() {
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    // GIVEN the device cloud records only that the lamp is unreachable
    let at = h.clock.now_ms();
    let lost = Some(Connectivity::Unreachable);
    let written = write(
        &h,
        &u,
        "lamp-1",
        DeviceState::default(),
        lost,
        CauseType::PeriodicPoll,
        at,
    )
    .await;
    assert_eq!(written.connectivity, Connectivity::Unreachable);
    let (_, response) = h.run_batch().await;

    // THEN that is a ChangeReport of connectivity
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(
        nvs(changed(&events[0])),
        json!([{"namespace": "Alexa.EndpointHealth", "name": "connectivity", "value": {"value": "UNREACHABLE"}}])
    );
}

#[tokio::test]
async fn a_change_report_whose_grant_cannot_be_refreshed_is_retried() {
    // GIVEN a grant whose access token must be refreshed, and LWA failing (500)
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 60).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("LWA is down"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.lwa)
        .await;
    Mock::given(method("POST"))
        .respond_with(lwa_tokens("Atza|refreshed"))
        .mount(&h.lwa)
        .await;
    accept_all(&h.gateway).await;

    // WHEN the lamp changes and the batch is processed
    let physical = CauseType::PhysicalInteraction;
    write(
        &h,
        &u,
        "lamp-1",
        brightness(80),
        None,
        physical,
        h.clock.now_ms(),
    )
    .await;
    let (batch, response) = h.run_batch().await;

    // THEN nothing was sent, and the batch fails from the change's record
    assert!(h.gateway_requests().await.is_empty());
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "the ChangeReport was dropped"
    );
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        batch.records[0].change.sequence_number
    );

    // AND once LWA is back, the redelivered record is reported
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(
        events[0]["event"]["endpoint"]["scope"]["token"],
        "Atza|refreshed"
    );
}

#[tokio::test]
async fn a_confirming_poll_does_not_become_the_cause_of_a_change() {
    let u = user();
    let mut h = Harness::new(&[lamp(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    // GIVEN someone dims the lamp at the wall, and a poll then finds the same brightness
    let at = h.clock.now_ms();
    write(
        &h,
        &u,
        "lamp-1",
        brightness(40),
        None,
        CauseType::PhysicalInteraction,
        at,
    )
    .await;
    write(
        &h,
        &u,
        "lamp-1",
        brightness(40),
        None,
        CauseType::PeriodicPoll,
        at + 1_000,
    )
    .await;
    let (batch, response) = h.run_batch().await;

    // THEN the one ChangeReport tells what changed it: the physical interaction
    assert_eq!(batch.records.len(), 2);
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(cause(&events[0]), "PHYSICAL_INTERACTION");
}
