//! Commands that reach the device (issue #13), against the real local servers: moto's DynamoDB
//! and IoT data plane, the shadow bridge fed as the topic rule would, the stream read as
//! Lambda would, and wiremock fakes of the event gateway, Login with Amazon and a maker's API.
//! Every answer and event is checked against the official schema.

use crate::support;

use std::time::Duration;

use alexa_smart_home::bridge::Outcome;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::{Device, LockState, UserId};
use alexa_smart_home::store::DeviceStore;
use serde_json::{Value, json};
use support::proactive::{ACCESS, Harness, accept_all, names, no_failures};
use support::{iot, json as to_json, schema};

const TOKEN: &str = "skill-token";

fn directive(namespace: &str, name: &str, endpoint: &str, correlation: &str) -> Value {
    json!({"directive": {"header": {"namespace": namespace, "name": name, "payloadVersion": "3",
        "messageId": uuid::Uuid::new_v4().to_string(), "correlationToken": correlation},
        "endpoint": {"scope": {"type": "BearerToken", "token": TOKEN}, "endpointId": endpoint},
        "payload": {}}})
}

fn thing() -> String {
    format!("thing-{}", uuid::Uuid::new_v4().simple())
}

fn light(user: &str, id: &str, thing: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": "Porch light", "description": "Light",
        "manufacturer": "Acme", "category": "LIGHT", "capabilities": [{"type": "power"}],
        "state": {"powerOn": false}, "deviceCloud": "iot", "thingName": thing,
    }))
    .unwrap()
}

fn lock(user: &str, id: &str, thing: &str, confirm_within: u32) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": "Front door", "description": "Lock",
        "manufacturer": "Acme", "category": "SMARTLOCK", "capabilities": [{"type": "lock"}],
        "state": {"lockState": "UNLOCKED"}, "deviceCloud": "iot", "thingName": thing,
        "confirmWithin": confirm_within,
    }))
    .unwrap()
}

/// A harness whose customer `user` has linked `TOKEN` and whose things exist.
async fn harness(user: &str, devices: &[Device]) -> Harness {
    let h = Harness::new(devices).await;
    h.store()
        .put_token(
            &alexa_smart_home::alexa::Secret::new(TOKEN),
            &alexa_smart_home::store::TokenRecord {
                user_id: user.into(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let shadows = iot::shadows(h.store().clone(), &h.tables.config).await;
    for d in devices {
        shadows.create_thing(d.thing()).await.unwrap();
    }
    h
}

async fn answer(h: &Harness, directive: &Value) -> Value {
    let skill = iot::skill(h.store().clone(), &h.tables.config).await;
    let answer = to_json(&skill.handle(&directive.to_string()).await);
    schema::assert_valid(&answer);
    answer
}

/// A customer with an event grant and a lock behind IoT that may take `confirm_within`
/// seconds, told to lock by voice: the skill has answered `DeferredResponse`. Returns the
/// harness, the customer, the thing, and the answer.
async fn lock_deferred(confirm_within: u32, correlation: &str) -> (Harness, UserId, String, Value) {
    let user = support::proactive::user();
    let thing = thing();
    let h = harness(&user, &[lock(&user, "front-door", &thing, confirm_within)]).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    let answer = answer(
        &h,
        &directive("Alexa.LockController", "Lock", "front-door", correlation),
    )
    .await;
    assert_eq!(
        answer["event"]["header"]["name"], "DeferredResponse",
        "{answer:#}"
    );
    (h, user, thing, answer)
}

fn property<'a>(message: &'a Value, name: &str) -> &'a Value {
    let in_context = message["context"]["properties"].as_array();
    let in_change = message["event"]["payload"]["change"]["properties"].as_array();
    in_change
        .into_iter()
        .chain(in_context)
        .flatten()
        .find(|p| p["name"] == name)
        .map(|p| &p["value"])
        .unwrap_or_else(|| panic!("no {name} in {message:#}"))
}

#[tokio::test]
async fn turn_on_through_iot_sets_the_shadows_desired_state() {
    let user = support::proactive::user();
    let thing = thing();
    let h = harness(&user, &[light(&user, "porch", &thing)]).await;
    let answer = answer(
        &h,
        &directive("Alexa.PowerController", "TurnOn", "porch", "c1"),
    )
    .await;
    // A light need not confirm: answered from the accepted command.
    assert_eq!(answer["event"]["header"]["name"], "Response", "{answer:#}");
    assert_eq!(property(&answer, "powerState"), "ON");
    let shadows = iot::shadows(h.store().clone(), &h.tables.config).await;
    assert_eq!(
        shadows.desired(&thing, None).await.unwrap(),
        json!({"powerOn": true})
    );
    let stored = h
        .store()
        .device(&user, &"porch".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state.power_on, Some(true));
}

#[tokio::test]
async fn a_reported_update_through_the_bridge_lands_in_the_table_and_is_a_change_report() {
    let user = support::proactive::user();
    let thing = thing();
    let mut h = harness(&user, &[light(&user, "porch", &thing)]).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    let shadows = iot::shadows(h.store().clone(), &h.tables.config).await;
    let outcome = shadows
        .report(&thing, None, json!({"powerOn": true, "firmware": "2.1"}))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Written { fields: 1 });
    let stored = h
        .store()
        .device(&user, &"porch".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state.power_on, Some(true));
    assert!(stored.shadow_version.is_some());
    no_failures(&h.run_batch().await.1);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(property(&events[0], "powerState"), "ON");
    assert_eq!(
        events[0]["event"]["payload"]["change"]["cause"]["type"],
        "PHYSICAL_INTERACTION"
    );

    // The same document again (the rule delivers at least once) changes nothing.
    let current = shadows.shadow(&thing, None).await.unwrap().unwrap();
    let replay = serde_json::from_value(json!({
        "topic": format!("$aws/things/{thing}/shadow/update/documents"),
        "previous": current, "current": current,
    }))
    .unwrap();
    assert_eq!(
        shadows.bridge().handle(&replay).await.unwrap(),
        Outcome::NothingReported
    );
    let mut older = current.clone();
    older["metadata"]["reported"]["powerOn"]["timestamp"] = json!(1);
    older["version"] = json!(1);
    let stale = serde_json::from_value(json!({
        "topic": format!("$aws/things/{thing}/shadow/update/documents"),
        "previous": older, "current": older,
    }));
    let mut stale: alexa_smart_home::bridge::ShadowDocuments = stale.unwrap();
    stale.previous = None;
    assert_eq!(
        shadows.bridge().handle(&stale).await.unwrap(),
        Outcome::Stale
    );
}

#[tokio::test]
async fn a_lock_is_deferred_until_the_device_reports_it_locked() {
    let correlation = "dFMb0z+PgpgdDmluhJ1LddFvSqZ/jCc8ptlAKulUj90jSqg==";
    let (mut h, user, thing, answer) = lock_deferred(30, correlation).await;
    assert_eq!(answer["event"]["header"]["correlationToken"], correlation);
    assert_eq!(answer["event"]["payload"]["estimatedDeferralInSeconds"], 30);
    let shadows = iot::shadows(h.store().clone(), &h.tables.config).await;
    assert_eq!(
        shadows.desired(&thing, None).await.unwrap(),
        json!({"lockState": "LOCKED"})
    );
    let stored = h
        .store()
        .device(&user, &"front-door".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.state.lock_state,
        Some(LockState::Unlocked),
        "nothing claimed yet"
    );
    assert_eq!(stored.pending.len(), 1);

    // The pending command's own record: the device has not answered, nothing is sent.
    no_failures(&h.run_batch().await.1);
    assert!(h.events().await.is_empty());

    shadows
        .report(&thing, None, json!({"lockState": "LOCKED"}))
        .await
        .unwrap();
    no_failures(&h.run_batch().await.1);
    let events = h.events().await;
    assert_eq!(names(&events), ["Response", "ChangeReport"]);
    let response = &events[0];
    assert_eq!(response["event"]["header"]["namespace"], "Alexa");
    assert_eq!(response["event"]["header"]["correlationToken"], correlation);
    assert_eq!(response["event"]["endpoint"]["endpointId"], "front-door");
    assert_eq!(response["event"]["endpoint"]["scope"]["token"], ACCESS);
    assert_eq!(property(response, "lockState"), "LOCKED");
    assert_eq!(
        events[1]["event"]["payload"]["change"]["cause"]["type"],
        "VOICE_INTERACTION"
    );
    let stored = h
        .store()
        .device(&user, &"front-door".into())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.pending.is_empty(), "the settled command is removed");

    // The removal's record, and a redelivery of it, answer nothing twice.
    no_failures(&h.run_batch().await.1);
    assert_eq!(h.events().await.len(), 2);
}

#[tokio::test]
async fn a_jammed_lock_is_told_as_jammed() {
    let (mut h, _, thing, _) = lock_deferred(30, "jam").await;
    let shadows = iot::shadows(h.store().clone(), &h.tables.config).await;
    shadows
        .report(&thing, None, json!({"lockState": "JAMMED"}))
        .await
        .unwrap();
    // Both records (the pending command, then the report) in one batch.
    no_failures(&h.run_batch().await.1);
    let events = h.events().await;
    assert_eq!(names(&events), ["Response", "ChangeReport"]);
    assert_eq!(events[0]["event"]["header"]["correlationToken"], "jam");
    assert_eq!(property(&events[0], "lockState"), "JAMMED");
    assert_eq!(property(&events[1], "lockState"), "JAMMED");
}

#[tokio::test]
async fn without_confirmation_nothing_is_claimed() {
    let (mut h, user, thing, _) = lock_deferred(1, "silent").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The batch is processed after the deadline, but its record was made before it: the device
    // could still have answered in time in a record not yet seen, so the command stays.
    no_failures(&h.run_batch().await.1);
    assert!(h.events().await.is_empty(), "nothing claimed");
    let stored = h
        .store()
        .device(&user, &"front-door".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.pending.len(), 1);
    assert_eq!(stored.state.lock_state, Some(LockState::Unlocked));

    // A late report is a plain ChangeReport: Alexa no longer waits for the directive, and the
    // command is dropped.
    let shadows = iot::shadows(h.store().clone(), &h.tables.config).await;
    shadows
        .report(&thing, None, json!({"lockState": "LOCKED"}))
        .await
        .unwrap();
    no_failures(&h.run_batch().await.1);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    assert_eq!(property(&events[0], "lockState"), "LOCKED");
    let stored = h
        .store()
        .device(&user, &"front-door".into())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.pending.is_empty(), "the expired command is dropped");
}

#[tokio::test]
async fn a_customer_without_an_event_grant_hears_only_what_the_device_confirmed() {
    let user = support::proactive::user();
    let thing = thing();
    let mut h = harness(&user, &[lock(&user, "front-door", &thing, 30)]).await;
    h.tables.config.confirm_wait = Duration::from_millis(1500);
    // No confirmation within the wait: an error, never "locked".
    let answer_silent = answer(
        &h,
        &directive("Alexa.LockController", "Lock", "front-door", "c1"),
    )
    .await;
    assert_eq!(answer_silent["event"]["header"]["name"], "ErrorResponse");
    assert_eq!(
        answer_silent["event"]["payload"]["type"],
        "ENDPOINT_UNREACHABLE"
    );

    // The device confirms while the skill waits: the answer is the device's state.
    let skill = iot::skill(h.store().clone(), &h.tables.config).await;
    let raw = directive("Alexa.LockController", "Lock", "front-door", "c2").to_string();
    let waiting = tokio::spawn(async move { to_json(&skill.handle(&raw).await) });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let shadows = iot::shadows(h.store().clone(), &h.tables.config).await;
    shadows
        .report(&thing, None, json!({"lockState": "LOCKED"}))
        .await
        .unwrap();
    let confirmed = waiting.await.unwrap();
    schema::assert_valid(&confirmed);
    assert_eq!(
        confirmed["event"]["header"]["name"], "Response",
        "{confirmed:#}"
    );
    assert_eq!(confirmed["event"]["header"]["correlationToken"], "c2");
    assert_eq!(property(&confirmed, "lockState"), "LOCKED");
}

/// A maker's API as a maker would write it: it checks the signature and the replay window,
/// and answers 401 when they fail.
struct MakerApi {
    secret: &'static str,
    answer: wiremock::ResponseTemplate,
}

impl wiremock::Respond for MakerApi {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let now = alexa_smart_home::store::unix_seconds(std::time::SystemTime::now());
        match alexa_smart_home::cloud::https::verify_request(
            self.secret.as_bytes(),
            &request.headers,
            &request.body,
            now,
        ) {
            Ok(()) => self.answer.clone(),
            Err(_) => wiremock::ResponseTemplate::new(401),
        }
    }
}

fn https_device(user: &str, id: &str, category: &str, capability: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": "Device", "description": "By a maker",
        "manufacturer": "Acme", "category": category, "capabilities": [{"type": capability}],
        "state": {"powerOn": false, "lockState": "UNLOCKED"},
    }))
    .unwrap()
}

#[tokio::test]
async fn the_makers_api_answers_are_mapped_as_documented() {
    use wiremock::ResponseTemplate;
    let user = support::proactive::user();
    let mut h = harness(&user, &[https_device(&user, "plug", "SMARTPLUG", "power")]).await;
    let maker = wiremock::MockServer::start().await;
    h.tables.config.device_cloud = alexa_smart_home::cloud::Adapter::Https;
    h.tables.config.device_api_url = Some(format!("{}/alexa/commands", maker.uri()));
    h.tables.config.device_api_secret = Some(alexa_smart_home::alexa::Secret::new("maker-secret"));
    h.tables.config.device_api_timeout = Duration::from_millis(300);
    let cases: Vec<(&str, &'static str, ResponseTemplate, &str)> = vec![
        (
            "confirmed",
            "maker-secret",
            ResponseTemplate::new(200).set_body_json(json!({"state": {"powerOn": true}})),
            "Response",
        ),
        (
            "accepted",
            "maker-secret",
            ResponseTemplate::new(202),
            "Response",
        ),
        (
            "low battery",
            "maker-secret",
            ResponseTemplate::new(422)
                .set_body_json(json!({"error": "ENDPOINT_LOW_POWER", "percentage": 5})),
            "ENDPOINT_LOW_POWER",
        ),
        (
            "unknown device",
            "maker-secret",
            ResponseTemplate::new(404),
            "NO_SUCH_ENDPOINT",
        ),
        (
            "4xx",
            "maker-secret",
            ResponseTemplate::new(400),
            "INTERNAL_ERROR",
        ),
        (
            "5xx",
            "maker-secret",
            ResponseTemplate::new(500),
            "ENDPOINT_UNREACHABLE",
        ),
        (
            "busy",
            "maker-secret",
            ResponseTemplate::new(503).set_body_json(json!({"error": "ENDPOINT_BUSY"})),
            "ENDPOINT_BUSY",
        ),
        (
            "timeout",
            "maker-secret",
            ResponseTemplate::new(200)
                .set_body_json(json!({"state": {"powerOn": true}}))
                .set_delay(Duration::from_secs(2)),
            "ENDPOINT_UNREACHABLE",
        ),
        (
            "rejected signature",
            "another-secret",
            ResponseTemplate::new(200).set_body_json(json!({"state": {"powerOn": true}})),
            "INTERNAL_ERROR",
        ),
    ];
    for (case, maker_secret, template, expected) in cases {
        maker.reset().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/alexa/commands"))
            .respond_with(MakerApi {
                secret: maker_secret,
                answer: template,
            })
            .expect(1)
            .mount(&maker)
            .await;
        let before = h
            .store()
            .device(&user, &"plug".into())
            .await
            .unwrap()
            .unwrap();
        let answer = answer(
            &h,
            &directive("Alexa.PowerController", "TurnOn", "plug", case),
        )
        .await;
        let after = h
            .store()
            .device(&user, &"plug".into())
            .await
            .unwrap()
            .unwrap();
        if expected == "Response" {
            assert_eq!(
                answer["event"]["header"]["name"], "Response",
                "{case}: {answer:#}"
            );
            assert_eq!(property(&answer, "powerState"), "ON", "{case}");
            assert_eq!(after.state.power_on, Some(true), "{case}");
        } else {
            assert_eq!(answer["event"]["header"]["name"], "ErrorResponse", "{case}");
            assert_eq!(
                answer["event"]["payload"]["type"], expected,
                "{case}: {answer:#}"
            );
            assert_eq!(
                after.state, before.state,
                "{case}: a refused command changes nothing"
            );
        }
        if case == "low battery" {
            assert_eq!(answer["event"]["payload"]["percentageState"], 5);
        }
        let sent: Value =
            serde_json::from_slice(&maker.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(sent["endpointId"], "plug", "{case}");
        assert_eq!(sent["directive"]["name"], "TurnOn", "{case}");
        assert_eq!(sent["desired"], json!({"powerOn": true}), "{case}");
        // Back to off for the next case.
        h.store().put_device(&before).await.unwrap();
    }
}

#[tokio::test]
async fn a_lock_behind_the_makers_api_is_confirmed_when_the_makers_cloud_writes_its_state() {
    use alexa_smart_home::alexa::event::CauseType;
    use alexa_smart_home::device::DeviceState;
    use alexa_smart_home::store::StateWrite;
    let user = support::proactive::user();
    let mut h = harness(&user, &[https_device(&user, "gate", "SMARTLOCK", "lock")]).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    let maker = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(MakerApi {
            secret: "maker-secret",
            answer: wiremock::ResponseTemplate::new(202),
        })
        .mount(&maker)
        .await;
    h.tables.config.device_cloud = alexa_smart_home::cloud::Adapter::Https;
    h.tables.config.device_api_url = Some(maker.uri());
    h.tables.config.device_api_secret = Some(alexa_smart_home::alexa::Secret::new("maker-secret"));
    let answer = answer(&h, &directive("Alexa.LockController", "Lock", "gate", "g1")).await;
    assert_eq!(answer["event"]["header"]["name"], "DeferredResponse");
    // The maker's cloud writes what the lock reports into the table.
    h.store()
        .update_state(
            &user,
            &"gate".into(),
            &StateWrite {
                patch: DeviceState {
                    lock_state: Some(LockState::Locked),
                    ..DeviceState::default()
                },
                connectivity: None,
                expected: None,
                cause: CauseType::VoiceInteraction,
                at_ms: Clock::system().now_ms(),
                shadow_version: None,
                unless_reported: None,
                answered: false,
            },
        )
        .await
        .unwrap();
    no_failures(&h.run_batch().await.1);
    let events = h.events().await;
    assert_eq!(names(&events), ["Response", "ChangeReport"]);
    assert_eq!(events[0]["event"]["header"]["correlationToken"], "g1");
    assert_eq!(property(&events[0], "lockState"), "LOCKED");
}
