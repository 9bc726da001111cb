//! Doorbells (`Alexa.DoorbellEventSource`): each press the device side records rings once, as
//! `DoorbellPress`, through the real stream records of the local server: not twice for a
//! redelivered or bisected batch, twice for two presses, and never from reconciliation.

use crate::support;

use std::time::Duration;

use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::device::{Device, DeviceState};
use alexa_smart_home::reconcile::run::Reconciler;
use alexa_smart_home::store::{DeviceStore, StateOutcome, StateWrite};
use aws_lambda_events::event::dynamodb::Event;
use serde_json::{Value, json};
use support::proactive::{Harness, accept_all, names, no_failures, told, user};

fn doorbell(user: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": "front-doorbell", "name": "Front Door",
        "description": "Video doorbell by Example Devices", "manufacturer": "Example Devices",
        "category": "DOORBELL", "capabilities": [{"type": "doorbell"}],
    }))
    .unwrap()
}

/// The device side records a press at `at_ms`, as a device cloud writes it.
async fn press(h: &Harness, user: &str, at_ms: i64) {
    let patch = DeviceState {
        doorbell_pressed_at: Some(at_ms),
        ..DeviceState::default()
    };
    let write = StateWrite::report(patch, CauseType::PhysicalInteraction, at_ms);
    let outcome = h
        .store()
        .update_state(&user.into(), &"front-doorbell".into(), &write)
        .await
        .unwrap();
    assert!(matches!(outcome, StateOutcome::Written(_)));
}

fn presses(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["event"]["header"]["name"] == "DoorbellPress")
        .map(|e| e["event"]["payload"]["timestamp"].as_str().unwrap())
        .collect()
}

async fn process(h: &Harness, records: Vec<aws_lambda_events::event::dynamodb::EventRecord>) {
    let mut event = Event::default();
    event.records = records;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    no_failures(&h.processor.process(event, deadline).await);
}

/// 2030-01-01T08:00:00Z, and a press 5.4 s later (the timestamp has whole seconds).
const FIRST: i64 = 1_893_484_800_000;
const SECOND: i64 = FIRST + 5_400;

#[tokio::test]
async fn each_press_rings_once_whatever_the_stream_redelivers() {
    let user = user();
    let bell = doorbell(&user);
    let mut h = Harness::new(std::slice::from_ref(&bell)).await;
    told(h.store(), std::slice::from_ref(&bell)).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;

    // Two presses before the stream Lambda runs: one batch, two events, in order.
    press(&h, &user, FIRST).await;
    press(&h, &user, SECOND).await;
    let (batch, response) = h.run_batch().await;
    no_failures(&response);
    let last = batch.records.len();
    let events = h.events().await;
    assert_eq!(names(&events), ["DoorbellPress", "DoorbellPress"]);
    assert_eq!(
        presses(&events),
        ["2030-01-01T08:00:00Z", "2030-01-01T08:00:05Z"]
    );
    let first = &events[0]["event"];
    assert_eq!(first["header"]["namespace"], "Alexa.DoorbellEventSource");
    assert_eq!(first["endpoint"]["endpointId"], "front-doorbell");
    assert_eq!(first["endpoint"]["scope"]["type"], "BearerToken");
    assert_eq!(first["payload"]["cause"]["type"], "PHYSICAL_INTERACTION");

    // The batch again (Lambda retries a batch whose answer was lost), and bisected: no ring.
    process(&h, batch.records.clone()).await;
    process(&h, batch.records[..last - 1].to_vec()).await;
    process(&h, batch.records[last - 1..].to_vec()).await;
    assert_eq!(presses(&h.events().await).len(), 2);

    // A state write that is no press (the same press time written again, with another field).
    let write = StateWrite::report(
        DeviceState {
            doorbell_pressed_at: Some(SECOND),
            battery_level: Some(80),
            ..DeviceState::default()
        },
        CauseType::PeriodicPoll,
        SECOND + 1_000,
    );
    h.store()
        .update_state(&user, &"front-doorbell".into(), &write)
        .await
        .unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(presses(&h.events().await).len(), 2);

    // Reconciliation compares states and definitions: a press is neither, and never replays.
    let reconciler = Reconciler::from_config(
        h.store().clone(),
        &h.tables.config,
        alexa_smart_home::http::client().unwrap(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    reconciler.customer(&user, deadline).await.unwrap();
    assert_eq!(presses(&h.events().await).len(), 2);

    // A third press later rings.
    press(&h, &user, SECOND + 60_000).await;
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(
        presses(&h.events().await),
        [
            "2030-01-01T08:00:00Z",
            "2030-01-01T08:00:05Z",
            "2030-01-01T08:01:05Z"
        ]
    );
}

#[tokio::test]
async fn a_doorbell_is_discovered_with_its_proactive_event() {
    let endpoint = alexa_smart_home::device::mapping::checked_endpoint(&doorbell("u").definition)
        .expect("a valid endpoint");
    let json = serde_json::to_value(&endpoint).unwrap();
    let bell = json["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["interface"] == "Alexa.DoorbellEventSource")
        .expect("declared");
    assert_eq!(
        bell,
        &json!({"type": "AlexaInterface", "interface": "Alexa.DoorbellEventSource",
                "version": "3", "proactivelyReported": true})
    );
}

/// A doorbell behind AWS IoT Core reports its press to its shadow: the bridge writes it, and
/// it rings once.
#[tokio::test]
async fn a_press_reported_to_the_shadow_rings_once() {
    let user = user();
    let thing = format!("bell-{}", uuid::Uuid::new_v4().simple());
    let mut bell = doorbell(&user);
    bell.definition.device_cloud = Some(alexa_smart_home::cloud::Adapter::Iot);
    bell.thing_name = Some(thing.clone());
    let mut h = Harness::new(std::slice::from_ref(&bell)).await;
    told(h.store(), std::slice::from_ref(&bell)).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    let shadows = support::iot::shadows(h.store().clone(), &h.tables.config).await;
    shadows.create_thing(&thing).await.unwrap();

    shadows
        .report(&thing, None, json!({"doorbellPressedAt": FIRST}))
        .await
        .unwrap();
    let (batch, response) = h.run_batch().await;
    no_failures(&response);
    // The same document again (IoT redelivers), and the batch again: no second ring.
    shadows
        .report(&thing, None, json!({"doorbellPressedAt": FIRST}))
        .await
        .unwrap();
    process(&h, batch.records).await;
    assert_eq!(presses(&h.events().await), ["2030-01-01T08:00:00Z"]);
}

/// A press of a doorbell whose add Alexa never accepted (its batch was lost): the doorbell is
/// added first, then it rings (found by the soak: the press alone went to an unknown endpoint).
#[tokio::test]
async fn a_press_of_a_doorbell_alexa_does_not_know_adds_it_first() {
    let user = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    // The doorbell is added, and that batch is lost (Lambda's retries ran out).
    h.store().put_device(&doorbell(&user)).await.unwrap();
    let lost = h.stream.next_batch(1000).await.unwrap();
    assert_eq!(lost.records.len(), 1);
    h.stream
        .done(&aws_lambda_events::event::streams::DynamoDbEventResponse::default())
        .await
        .unwrap();
    press(&h, &user, FIRST).await;
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["AddOrUpdateReport", "DoorbellPress"]);
}
