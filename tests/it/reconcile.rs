//! Reconciliation against the real local DynamoDB-compatible server (tables, the devices and
//! grants streams) with the event gateway and Login with Amazon faked at the HTTP level: what
//! the stream could not deliver reaches Alexa through AcceptGrant, a recovering grant, the
//! dead-letter queue and the schedule, and a second reconciliation sends nothing.

use crate::support;

use std::time::Duration;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::DeviceState;
use alexa_smart_home::gateway::Gateway;
use alexa_smart_home::http;
use alexa_smart_home::lwa::Lwa;
use alexa_smart_home::proactive::delivery::RetryPolicy;
use alexa_smart_home::reconcile::dead_letter::DeadLetters;
use alexa_smart_home::reconcile::run::Reconciler;
use alexa_smart_home::reconcile::trigger::{ReconcileFunction, Trigger};
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use alexa_smart_home::store::{DeviceStore, GrantStore, StateWrite, TokenRecord};
use alexa_smart_home::stream::StreamProcessor;
use alexa_smart_home_local::stream::{LocalStream, Start};
use serde_json::{Value, json};
use support::proactive::{self, Harness, accept_all, device, endpoint_ids, names, user};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// No waiting between resends: these tests are about what is sent, not when.
fn fast() -> RetryPolicy {
    RetryPolicy {
        resends: 1,
        min_delay: Duration::ZERO,
        jitter: Duration::ZERO,
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

async fn function(h: &Harness) -> ReconcileFunction<DynamoStore> {
    // Each scheduled run here is a pass of its own (tests/it/reconcile_pass.rs has passes).
    let config = &alexa_smart_home::config::Config {
        reconcile_interval: Duration::ZERO,
        ..h.tables.config.clone()
    };
    let reconciler = Reconciler::new(
        h.store().clone(),
        Lwa::from_config(http::client().unwrap(), config),
        Gateway::new(http::client().unwrap(), config.event_gateway_url.clone()),
        fast(),
        config,
    );
    ReconcileFunction::new(
        reconciler,
        DeadLetters::new(&dynamo::sdk_config(config).await.unwrap()),
    )
}

/// A stream processor that gives up quickly, so that a failing gateway fails the batch.
fn impatient_processor(h: &Harness) -> StreamProcessor<DynamoStore> {
    let config = &h.tables.config;
    StreamProcessor::new(
        h.store().clone(),
        Lwa::from_config(http::client().unwrap(), config),
        Gateway::new(http::client().unwrap(), config.event_gateway_url.clone()),
        4,
        fast(),
    )
}

async fn grants_stream(h: &Harness) -> LocalStream {
    LocalStream::open(
        h.tables.config.dynamodb_endpoint.as_deref().unwrap(),
        &h.tables.config.aws_region,
        &h.tables.config.grants_table,
        Start::Latest,
    )
    .await
    .unwrap()
}

/// Delivers what the grants stream holds to the reconcile function, as its event source
/// mapping does.
async fn pump_grants(f: &ReconcileFunction<DynamoStore>, stream: &mut LocalStream) {
    loop {
        let batch = stream.next_batch(100).await.unwrap();
        if batch.records.is_empty() {
            return;
        }
        let event = serde_json::to_value(&batch).unwrap();
        let answer = run(f, &event).await;
        assert_eq!(answer["batchItemFailures"], json!([]));
        stream
            .done(&aws_lambda_events::event::streams::DynamoDbEventResponse::default())
            .await
            .unwrap();
    }
}

async fn operator(f: &ReconcileFunction<DynamoStore>, users: &[&str]) -> Value {
    f.handle(
        Trigger::Customers(users.iter().map(|&u| u.into()).collect()),
        deadline(),
    )
    .await
}

/// EventBridge's scheduled event, as the ReconcileSchedule rule sends it.
fn schedule() -> Value {
    json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
}

/// One invocation of the reconcile function with `event`.
async fn run(f: &ReconcileFunction<DynamoStore>, event: &Value) -> Value {
    f.handle(Trigger::parse(event).unwrap(), deadline()).await
}

/// Runs `trigger` once more and checks that it finds `in_sync` customers in sync and sends the
/// gateway nothing: reconciliation is idempotent.
async fn assert_sends_nothing(
    f: &ReconcileFunction<DynamoStore>,
    h: &Harness,
    trigger: &Value,
    in_sync: u64,
) {
    let before = h.gateway_requests().await.len();
    let answer = run(f, trigger).await;
    assert_eq!(answer["inSync"], in_sync, "{answer}");
    assert_eq!(h.gateway_requests().await.len(), before, "{answer}");
}

/// The events the gateway received since `from`, schema-checked.
async fn events_since(h: &Harness, from: usize) -> Vec<Value> {
    h.events().await.split_off(from)
}

/// The endpoints of each ChangeReport, which reconciliation sends with cause PERIODIC_POLL.
fn polled(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["event"]["header"]["name"] == "ChangeReport")
        .map(|e| {
            assert_eq!(
                e["event"]["payload"]["change"]["cause"]["type"],
                "PERIODIC_POLL"
            );
            e["event"]["endpoint"]["endpointId"].as_str().unwrap()
        })
        .collect()
}

/// The schedule runs: Alexa is told the state of light "a" alone, with cause `PERIODIC_POLL`
/// and its power state `power`; a second run sends nothing.
async fn assert_the_schedule_polls_the_power_state(
    f: &ReconcileFunction<DynamoStore>,
    h: &Harness,
    before: usize,
    power: &str,
) {
    let answer = run(f, &schedule()).await;
    assert_eq!(answer["states"], 1, "{answer}");
    let events = events_since(h, before).await;
    assert_eq!(polled(&events), ["a"]);
    let told = events[0]["event"]["payload"]["change"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "powerState")
        .cloned()
        .unwrap();
    assert_eq!(told["value"], power);
    assert_sends_nothing(f, h, &schedule(), 1).await;
}

/// A linking token for customer `u` in the tokens table, as the device cloud issues one.
async fn linked(h: &Harness, u: &str) -> String {
    let token = format!("linked-{u}");
    let record = TokenRecord {
        user_id: u.into(),
        expires_at: None,
    };
    h.store()
        .put_token(&BearerToken::new(&token), &record)
        .await
        .unwrap();
    token
}

fn ids(event: &Value) -> Vec<String> {
    if event["event"]["header"]["name"] == "DeleteReport" {
        event["event"]["payload"]["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["endpointId"].as_str().unwrap().to_owned())
            .collect()
    } else {
        endpoint_ids(event).into_iter().map(str::to_owned).collect()
    }
}

#[tokio::test]
async fn changes_made_without_a_grant_reach_alexa_on_accept_grant() {
    let u = user();
    let mut h = Harness::new(&[device(&u, "a"), device(&u, "b")]).await;
    accept_all(&h.gateway).await;
    let f = function(&h).await;
    let mut grants = grants_stream(&h).await;

    // GIVEN changes made while the customer has no grant: the stream can send nothing
    let mut renamed = device(&u, "b");
    renamed.definition.name = "Hall Lamp".into();
    h.store().put_device(&renamed).await.unwrap();
    h.store().put_device(&device(&u, "c")).await.unwrap();
    let (_, response) = h.run_batch().await;
    proactive::no_failures(&response);
    assert!(h.gateway_requests().await.is_empty());

    // WHEN the customer enables the skill's events: Alexa sends AcceptGrant
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(proactive::lwa_tokens("Atza|from-the-code"))
        .mount(&h.lwa)
        .await;
    let token = linked(&h, &u).await;
    let mut directive: Value = serde_json::from_str(&support::read(
        "events/Authorization/Authorization.AcceptGrant.request.json",
    ))
    .unwrap();
    directive["directive"]["payload"]["grantee"]["token"] = Value::from(token);
    let skill = support::skill(h.store().clone(), &h.tables.config);
    let answer = support::json(&skill.handle(&directive.to_string()).await);
    assert_eq!(answer["event"]["header"]["name"], "AcceptGrant.Response");
    // AND the grants table's stream triggers the reconcile function
    pump_grants(&f, &mut grants).await;

    // THEN Alexa gets every endpoint of the account as it is now (and asks for their state)
    let events = h.events().await;
    assert_eq!(names(&events), ["AddOrUpdateReport"]);
    assert_eq!(ids(&events[0]), ["a", "b", "c"]);
    assert_eq!(
        events[0]["event"]["payload"]["endpoints"][1]["friendlyName"],
        "Hall Lamp"
    );
    // AND the request is served
    let grant = h.store().grant(&u).await.unwrap().unwrap();
    assert_eq!(grant.reconcile_after, None);

    // WHEN it is reconciled again (and the clearing write went through the grants stream)
    pump_grants(&f, &mut grants).await;
    // THEN nothing is sent
    assert_sends_nothing(&f, &h, &json!({"userIds": [u]}), 1).await;
    assert_eq!(h.events().await.len(), 1);
}

#[tokio::test]
async fn a_dead_lettered_batch_reaches_alexa_through_the_dead_letter_consumer() {
    let u = user();
    let mut h = Harness::new(&[device(&u, "a"), device(&u, "b")]).await;
    h.grant(&u, 3600).await;
    let f = function(&h).await;
    // GIVEN Alexa has the account (a first reconciliation told it)
    accept_all(&h.gateway).await;
    let answer = operator(&f, &[&u]).await;
    assert_eq!(answer["upserts"], 2, "{answer}");
    let told = h.events().await.len();

    // AND the gateway fails every event while the customer renames b and adds c
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .named("gateway down")
        .mount(&h.gateway)
        .await;
    let mut renamed = device(&u, "b");
    renamed.definition.name = "Hall Lamp".into();
    h.store().put_device(&renamed).await.unwrap();
    h.store().put_device(&device(&u, "c")).await.unwrap();
    let processor = impatient_processor(&h);
    let batch = h.stream.next_batch(1000).await.unwrap();
    let response = processor.process(batch, deadline()).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    // WHEN Lambda's retries run out: the batch goes to the dead-letter queue as a failure
    // record (shard and sequence range only) and the stream moves on
    let record = h.stream.give_up().await.unwrap().expect("a failure record");
    let sent_while_down = h.gateway_requests().await.len();
    assert!(sent_while_down > told);

    // AND the gateway recovers, and the dead-letter consumer gets the record
    h.gateway.reset().await;
    accept_all(&h.gateway).await;
    let sqs = json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "r", "body": record.to_string(),
        "eventSource": "aws:sqs", "awsRegion": "us-east-1",
    }]});
    let answer = run(&f, &sqs).await;

    // THEN the message is consumed and Alexa gets the batch's changes
    assert_eq!(answer["batchItemFailures"], json!([]));
    let events = h.events().await;
    assert_eq!(names(&events), ["AddOrUpdateReport"]);
    assert_eq!(ids(&events[0]), ["b", "c"]);

    // AND a second reconciliation sends nothing
    assert_sends_nothing(&f, &h, &json!({"userIds": [u]}), 1).await;
}

#[tokio::test]
async fn a_batch_past_the_streams_retention_is_left_to_the_schedule() {
    let h = Harness::new(&[]).await;
    let f = function(&h).await;
    // A stream that is gone: its records can no longer be read.
    let record = json!({"DDBStreamBatchInfo": {
        "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/gone/stream/2020-01-01T00:00:00.000",
        "shardId": "shardId-00000001-00000000", "startSequenceNumber": "100",
        "endSequenceNumber": "200",
    }});
    let sqs = json!({"Records": [
        {"messageId": "m-1", "body": record.to_string(), "eventSource": "aws:sqs"},
        {"messageId": "m-2", "body": "not a failure record", "eventSource": "aws:sqs"},
    ]});
    let answer = run(&f, &sqs).await;
    // Consumed (retrying cannot bring the records back), and nothing sent.
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert!(h.gateway_requests().await.is_empty());
}

#[tokio::test]
async fn a_device_deleted_while_the_stream_was_down_is_deleted_by_the_schedule() {
    let u = user();
    let other = user();
    let h = Harness::new(&[device(&u, "a"), device(&u, "b"), device(&other, "x")]).await;
    h.grant(&u, 3600).await;
    h.grant(&other, 3600).await;
    accept_all(&h.gateway).await;
    let f = function(&h).await;
    let schedule = schedule();
    // GIVEN Alexa has both accounts
    let answer = run(&f, &schedule).await;
    assert_eq!(answer["customers"], 2, "{answer}");
    assert_eq!(answer["upserts"], 3, "{answer}");
    let before = h.events().await.len();

    // WHEN a device is deleted while the stream is down (its record is never processed)
    h.store().delete_device(&u, &"a".into()).await.unwrap();
    // AND the schedule runs
    let answer = run(&f, &schedule).await;

    // THEN Alexa is told to delete it, and only that
    assert_eq!(answer["deletes"], 1, "{answer}");
    let events = events_since(&h, before).await;
    assert_eq!(names(&events), ["DeleteReport"]);
    assert_eq!(ids(&events[0]), ["a"]);

    // AND the next scheduled run sends nothing
    assert_sends_nothing(&f, &h, &schedule, 2).await;
}

#[tokio::test]
async fn changes_made_while_the_grant_failed_reach_alexa_when_it_recovers() {
    let u = user();
    let mut h = Harness::new(&[device(&u, "a")]).await;
    accept_all(&h.gateway).await;
    let f = function(&h).await;
    let mut grants = grants_stream(&h).await;
    // Tokens that expire within the refresh margin: every use of the grant refreshes it.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atza|short-lived", "refresh_token": "Atzr|r",
            "token_type": "bearer", "expires_in": 60,
        })))
        .with_priority(10)
        .mount(&h.lwa)
        .await;
    // A grant about to expire (the stream must refresh it first); its AcceptGrant tells Alexa
    // the account
    h.grant(&u, 60).await;
    pump_grants(&f, &mut grants).await;
    let told = h.events().await.len();
    assert_eq!(names(&h.events().await), ["AddOrUpdateReport"]);

    // GIVEN Login with Amazon fails while the customer adds a device
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .named("LWA down")
        .mount(&h.lwa)
        .await;
    h.store().put_device(&device(&u, "b")).await.unwrap();
    let processor = impatient_processor(&h);
    let batch = h.stream.next_batch(1000).await.unwrap();
    let response = processor.process(batch, deadline()).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    // AND the batch is given up on
    h.stream.give_up().await.unwrap();
    // THEN the failing refresh asked for the customer's reconciliation
    let grant = h.store().grant(&u).await.unwrap().unwrap();
    assert!(grant.reconcile_after.is_some());
    // (and the request's write triggered a reconciliation that could not refresh either)
    pump_grants(&f, &mut grants).await;
    assert_eq!(h.events().await.len(), told);

    // WHEN LWA recovers, and the next change of the customer makes the stream refresh the
    // grant: that write is the grant's recovery, and the grants stream triggers the reconciler
    h.lwa.reset().await;
    Mock::given(method("POST"))
        .respond_with(proactive::lwa_tokens("Atza|recovered"))
        .mount(&h.lwa)
        .await;
    h.store().put_device(&device(&u, "c")).await.unwrap();
    let (_, response) = h.run_batch().await;
    proactive::no_failures(&response);
    pump_grants(&f, &mut grants).await;

    // THEN Alexa gets the device added while the grant was failing too, and the request is
    // served
    let events = events_since(&h, told).await;
    let added: Vec<Vec<String>> = events
        .iter()
        .filter(|e| e["event"]["header"]["name"] == "AddOrUpdateReport")
        .map(ids)
        .collect();
    assert_eq!(added, [["c"], ["b"]], "{events:#?}");
    assert_eq!(
        h.store().grant(&u).await.unwrap().unwrap().reconcile_after,
        None
    );
    // AND a second reconciliation sends nothing
    assert_sends_nothing(&f, &h, &json!({"userIds": [u]}), 1).await;
}

#[tokio::test]
async fn a_state_change_whose_batch_was_lost_is_reported_by_the_schedule() {
    let u = user();
    let mut h = Harness::new(&[device(&u, "a")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    let f = function(&h).await;
    let schedule = schedule();
    let answer = run(&f, &schedule).await;
    assert_eq!(
        (answer["upserts"].clone(), answer["states"].clone()),
        (json!(1), json!(0))
    );
    let before = h.events().await.len();

    // GIVEN the light is turned on at its switch, and the batch with that change is lost
    let mut on = device(&u, "a");
    on.state.power_on = Some(true);
    h.store().put_device(&on).await.unwrap();
    let batch = h.stream.next_batch(1000).await.unwrap();
    assert_eq!(batch.records.len(), 1);
    h.stream.give_up().await.unwrap();

    // WHEN the schedule runs, THEN Alexa is told the light's state as the table holds it
    assert_the_schedule_polls_the_power_state(&f, &h, before, "ON").await;
}

/// What a directive's answer told Alexa is not in the Alexa view (no write on a directive's
/// path). A TurnOn answered ON, then the light back OFF at its switch, and the batches of both
/// lost: the view's state matches the table's, but Alexa last heard ON. The schedule tells it
/// OFF (found by the long soak: a light that ends where it was).
#[tokio::test]
async fn a_state_an_answer_told_and_a_lost_batch_undid_is_reported_by_the_schedule() {
    let u = user();
    let mut light = device(&u, "a");
    light.state.power_on = Some(false);
    let mut h = Harness::new(&[light]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    let f = function(&h).await;
    let schedule = schedule();
    run(&f, &schedule).await;
    assert_sends_nothing(&f, &h, &schedule, 1).await;
    let before = h.events().await.len();

    // GIVEN Alexa turns the light on, and is answered ON at once (the table adapter)
    let token = linked(&h, &u).await;
    let mut directive: Value = serde_json::from_str(&support::read(
        "events/PowerController/PowerController.TurnOn.request.json",
    ))
    .unwrap();
    directive["directive"]["endpoint"]["endpointId"] = json!("a");
    directive["directive"]["endpoint"]["scope"]["token"] = json!(token);
    let skill = support::skill(h.store().clone(), &h.tables.config);
    let answer = support::json(&skill.handle(&directive.to_string()).await);
    assert_eq!(answer["event"]["header"]["name"], "Response", "{answer}");
    assert_eq!(answer["context"]["properties"][0]["value"], "ON");
    // AND someone turns it off again at its switch
    let off = DeviceState {
        power_on: Some(false),
        ..DeviceState::default()
    };
    let at = Clock::system().now_ms();
    h.store()
        .update_state(
            &u,
            &"a".into(),
            &StateWrite::report(off, CauseType::PhysicalInteraction, at),
        )
        .await
        .unwrap();
    // AND the batches with both changes are lost
    loop {
        let batch = h.stream.next_batch(1000).await.unwrap();
        if batch.records.is_empty() {
            break;
        }
        h.stream.give_up().await.unwrap();
    }

    // WHEN the schedule runs, THEN Alexa is told the light is off, as the table holds it
    assert_the_schedule_polls_the_power_state(&f, &h, before, "OFF").await;
}

#[tokio::test]
async fn a_gateway_that_does_not_know_the_grant_yet_leaves_the_request_for_later() {
    let u = user();
    let h = Harness::new(&[device(&u, "a")]).await;
    h.grant(&u, 3600).await;
    // AcceptGrant's answer still on its way to Alexa: the gateway does not know the customer
    // enabled events, while LWA refreshes the grant fine.
    Mock::given(method("POST"))
        .and(path("/v3/events"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(proactive::error_body("SKILL_NEVER_ENABLED_EXCEPTION")),
        )
        .with_priority(1)
        .named("not enabled yet")
        .mount(&h.gateway)
        .await;
    Mock::given(method("POST"))
        .respond_with(proactive::lwa_tokens("Atza|refreshed"))
        .mount(&h.lwa)
        .await;
    accept_all(&h.gateway).await;
    let f = function(&h).await;

    // WHEN the AcceptGrant's reconciliation runs
    let answer = operator(&f, &[&u]).await;
    // THEN it failed, and the request stays on the grant
    assert_eq!(answer["failed"], json!([u.clone()]), "{answer}");
    assert!(
        h.store()
            .grant(&u)
            .await
            .unwrap()
            .unwrap()
            .reconcile_after
            .is_some()
    );

    // WHEN the gateway knows the customer, the next run sends the account
    h.gateway.reset().await;
    accept_all(&h.gateway).await;
    let answer = operator(&f, &[&u]).await;
    assert_eq!(answer["upserts"], 1, "{answer}");
    assert_eq!(names(&h.events().await), ["AddOrUpdateReport"]);
    assert_eq!(
        h.store().grant(&u).await.unwrap().unwrap().reconcile_after,
        None
    );
}

#[test]
fn the_sample_events_are_the_triggers_they_are_named_for() {
    let parse = |file: &str| {
        let event: Value = serde_json::from_str(&support::read(file)).unwrap();
        Trigger::parse(&event).unwrap()
    };
    assert_eq!(parse("events/Reconcile/Schedule.json"), Trigger::Schedule);
    assert_eq!(
        parse("events/Reconcile/Operator.json"),
        Trigger::Customers(vec!["example-user".into()])
    );
    assert_eq!(
        parse("events/Reconcile/GrantsStream.json"),
        Trigger::Grants(vec!["example-user".into()])
    );
    let Trigger::DeadLetters(messages) = parse("events/Reconcile/DeadLetter.json") else {
        panic!("not the dead-letter queue");
    };
    let record: alexa_smart_home::reconcile::dead_letter::FailureRecord =
        serde_json::from_str(&messages[0].1).unwrap();
    assert_eq!(record.batch.start_sequence_number, "800000000003126276362");
}
