//! Correctness under retries, deadlines, rolling deploys and hostile peers (issue #20), against
//! the real local servers and fakes that misbehave on cue: a maker's cloud that records the
//! device's report while it takes a command, a maker API slower than Alexa's deadline or
//! sending 50 MB, Login with Amazon answering just before a caller's timeout, a stream batch
//! processed late, and a pending command written by a newer build.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::cloud::Adapter;
use alexa_smart_home::cloud::https::verify_request;
use alexa_smart_home::device::{Device, DeviceState, LockState, UserId};
use alexa_smart_home::store::dynamo::DynamoStore;
use alexa_smart_home::store::{DeviceStore, GrantStore, StateWrite, TokenRecord, unix_seconds};
use alexa_smart_home_local::runtime_api::RuntimeApi;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::faults::{Action, FaultServer};
use support::proactive::{Harness, accept_all, names, no_failures};
use support::schema;

const TOKEN: &str = "skill-token";
const SECRET: &str = "maker-secret";

fn light(user: &str, id: &str, brightness: u8) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": "Desk lamp", "description": "Dimmable",
        "manufacturer": "Acme", "category": "LIGHT",
        "capabilities": [{"type": "power"}, {"type": "brightness"}],
        "state": {"powerOn": true, "brightness": brightness},
    }))
    .unwrap()
}

fn lock(user: &str, id: &str, confirm_within: u32) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": "Front door", "description": "Lock",
        "manufacturer": "Acme", "category": "SMARTLOCK", "capabilities": [{"type": "lock"}],
        "state": {"lockState": "UNLOCKED"}, "confirmWithin": confirm_within,
    }))
    .unwrap()
}

fn directive(namespace: &str, name: &str, endpoint: &str, payload: Value) -> Value {
    json!({"directive": {"header": {"namespace": namespace, "name": name, "payloadVersion": "3",
        "messageId": uuid::Uuid::new_v4().to_string(), "correlationToken": "ct-1"},
        "endpoint": {"scope": {"type": "BearerToken", "token": TOKEN}, "endpointId": endpoint},
        "payload": payload}})
}

async fn link(store: &DynamoStore, user: &str) {
    store
        .put_token(
            &Secret::new(TOKEN),
            &TokenRecord {
                user_id: user.into(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
}

/// What the device's cloud writes into the devices table when the device reports `patch`,
/// sampled `at_ms` by its clock.
fn report(patch: DeviceState, at_ms: i64) -> StateWrite {
    StateWrite::report(patch, CauseType::PhysicalInteraction, at_ms)
}

/// The commands a maker's API received, each checked for our signature.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Value>>>);

impl Received {
    fn take(&self, headers: &hyper::HeaderMap, body: &[u8]) -> Option<Value> {
        let now = unix_seconds(SystemTime::now());
        verify_request(SECRET.as_bytes(), headers, body, now).ok()?;
        let command: Value = serde_json::from_slice(body).ok()?;
        self.0.lock().unwrap().push(command.clone());
        Some(command)
    }

    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

fn through_makers_api(tables: &mut TestTables, maker: &FaultServer) {
    tables.config.device_cloud = Adapter::Https;
    tables.config.device_api_url = Some(format!("{}/commands", maker.uri()));
    tables.config.device_api_secret = Some(Secret::new(SECRET));
}

async fn answer(tables: &TestTables, directive: &Value) -> Value {
    let answer = support::send(tables, directive).await;
    schema::assert_valid(&answer);
    answer
}

fn property<'a>(message: &'a Value, name: &str) -> &'a Value {
    message["context"]["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .map(|p| &p["value"])
        .unwrap_or_else(|| panic!("no {name} in {message:#}"))
}

// ---------------------------------------------------------------------------------------------
// Fault 1: an adjustment the device reports during is sent once
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_adjustment_reaches_the_device_once_when_it_reports_while_taking_it() {
    // GIVEN a lamp at 50 % behind the maker's API, whose cloud records the lamp's own report
    // (the brightness it went to) while it accepts the command, as a maker's cloud does
    let user = support::proactive::user();
    let mut tables = TestTables::new().await;
    tables
        .store
        .put_device(&light(&user, "lamp", 50))
        .await
        .unwrap();
    link(&tables.store, &user).await;
    let received = Received::default();
    let (store, seen) = (tables.store.clone(), received.clone());
    let maker = FaultServer::start_async(move |headers, body| {
        let (store, seen) = (store.clone(), seen.clone());
        Box::pin(async move {
            let Some(command) = seen.take(&headers, &body) else {
                return Action::answer(401, json!({}));
            };
            let desired: DeviceState = serde_json::from_value(command["desired"].clone()).unwrap();
            let (user, endpoint) = (
                command["userId"].as_str().unwrap(),
                command["endpointId"].as_str().unwrap(),
            );
            store
                .update_state(
                    &user.into(),
                    &endpoint.into(),
                    &report(desired, Clock::system().now_ms()),
                )
                .await
                .unwrap();
            Action::answer(202, json!({}))
        })
    })
    .await;
    through_makers_api(&mut tables, &maker);

    // WHEN the customer says "brighter by 10"
    let answer = answer(
        &tables,
        &directive(
            "Alexa.BrightnessController",
            "AdjustBrightness",
            "lamp",
            json!({"brightnessDelta": 10}),
        ),
    )
    .await;

    // THEN the maker's API got one command, for 60 %, and Alexa hears 60 %
    let commands = received.all();
    assert_eq!(
        commands.len(),
        1,
        "one \"brighter by 10\" reached the device {} times: {commands:#?}",
        commands.len()
    );
    assert_eq!(commands[0]["desired"], json!({"brightness": 60}));
    assert_eq!(answer["event"]["header"]["name"], "Response", "{answer:#}");
    assert_eq!(property(&answer, "brightness"), 60);
    let stored = tables
        .store
        .device(&user, &"lamp".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state.brightness, Some(60));
}

// ---------------------------------------------------------------------------------------------
// Fault 2: every answer within the directive's deadline
// ---------------------------------------------------------------------------------------------

/// Kills the function process when the test ends, however it ends.
struct Function(std::process::Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_makers_api_slower_than_the_deadline_is_answered_within_it_and_not_sent_again() {
    // GIVEN the skill binary, a lamp behind the maker's API, and an API that sleeps 5 s
    let user = support::proactive::user();
    let tables = TestTables::new().await;
    tables
        .store
        .put_device(&light(&user, "lamp", 50))
        .await
        .unwrap();
    link(&tables.store, &user).await;
    let received = Received::default();
    let seen = received.clone();
    let maker = FaultServer::start(move |headers, body| {
        seen.take(headers, body);
        Action::Answer {
            status: 202,
            body: json!({}),
            delay: Duration::from_secs(5),
        }
    })
    .await;
    let api = RuntimeApi::start().await.unwrap();
    let _function = Function(
        api.command(env!("CARGO_BIN_EXE_skill"), "reliability")
            .envs(tables.lambda_env())
            .env("DEVICE_CLOUD", "https")
            .env("DEVICE_API_URL", format!("{}/commands", maker.uri()))
            .env("DEVICE_API_SECRET", SECRET)
            .env("DEVICE_API_TIMEOUT_MS", "4000")
            .env("AWS_LAMBDA_LOG_LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Cold start done before the clock starts: the first invocation is a ReportState.
    let warm = directive("Alexa", "ReportState", "lamp", json!({}));
    api.invoke(warm.to_string(), Duration::from_secs(30))
        .await
        .unwrap();

    // WHEN "brighter by 10" arrives in an invocation with 3 s left
    let started = std::time::Instant::now();
    let deadline = SystemTime::now() + Duration::from_secs(3);
    let adjust = directive(
        "Alexa.BrightnessController",
        "AdjustBrightness",
        "lamp",
        json!({"brightnessDelta": 10}),
    );
    let answered = api
        .invoke_until(adjust.to_string(), deadline, Duration::from_secs(30))
        .await
        .unwrap();
    let took = answered.at.duration_since(started);
    eprintln!("answered after {took:?} with 3 s left");

    // THEN the answer comes before the deadline, says the lamp did not answer, and the command
    // was sent once (and never again, though the API answers later)
    let answer: Value = serde_json::from_slice(&answered.body).unwrap();
    schema::assert_valid(&answer);
    assert!(
        took < Duration::from_secs(3),
        "answered after {took:?}, past the invocation's 3 s"
    );
    assert_eq!(
        answer["event"]["payload"]["type"], "ENDPOINT_UNREACHABLE",
        "{answer:#}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(received.all().len(), 1, "{:#?}", received.all());
}

/// A customer with an event grant and a lock behind the maker's API (which answers 202) that
/// must confirm within `confirm_within` s, told to lock: the skill has answered
/// `DeferredResponse`. The harness, the customer and the maker's API.
async fn lock_deferred(confirm_within: u32) -> (Harness, UserId, FaultServer) {
    let user = support::proactive::user();
    let mut h = Harness::new(&[lock(&user, "door", confirm_within)]).await;
    link(h.store(), &user).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    let maker = FaultServer::start(|_, _| Action::answer(202, json!({}))).await;
    through_makers_api(&mut h.tables, &maker);
    let deferred = answer(
        &h.tables,
        &directive("Alexa.LockController", "Lock", "door", json!({})),
    )
    .await;
    assert_eq!(deferred["event"]["header"]["name"], "DeferredResponse");
    (h, user, maker)
}

fn locked() -> DeviceState {
    DeviceState {
        lock_state: Some(LockState::Locked),
        ..DeviceState::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Fault 4: a confirmation that arrived in time counts, however late its batch is processed
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_confirmation_in_time_is_answered_though_its_batch_is_processed_late() {
    // GIVEN a lock behind the maker's API that must confirm within 2 s, told to lock
    let (mut h, user, _maker) = lock_deferred(2).await;

    // WHEN the lock reports LOCKED at once, but the stream batch holding that report is
    // processed 3 s later (throttled, retried), after the command's deadline
    h.store()
        .update_state(
            &user,
            &"door".into(),
            &report(locked(), Clock::system().now_ms()),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    no_failures(&h.run_batch().await.1);

    // THEN Alexa gets the asynchronous Response: the lock answered in time
    let events = h.events().await;
    assert_eq!(names(&events), ["Response", "ChangeReport"], "{events:#?}");
    assert_eq!(events[0]["event"]["header"]["correlationToken"], "ct-1");
}

// ---------------------------------------------------------------------------------------------
// Fault 5: a pending command written by a newer build does not block this one
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_command_with_a_field_this_build_does_not_know_blocks_nothing() {
    // GIVEN a lock whose item holds a pending command written by a newer build, with a field
    // this build does not know
    let user = support::proactive::user();
    let mut h = Harness::new(&[lock(&user, "door", 30)]).await;
    link(h.store(), &user).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    let newer = json!([{"correlationToken": "ct-newer", "commandId": "newer-1",
        "expect": {"lockState": "LOCKED"}, "issuedAt": Clock::system().now_ms(), "deadline": Clock::system().now_ms() + 60_000,
        "retryBudget": {"left": 2}}]);
    h.store()
        .client()
        .update_item()
        .table_name(&h.tables.config.devices_table)
        .key(
            "userId",
            aws_sdk_dynamodb::types::AttributeValue::S(user.to_string()),
        )
        .key(
            "endpointId",
            aws_sdk_dynamodb::types::AttributeValue::S("door".into()),
        )
        .update_expression("SET #p = :p")
        .expression_attribute_names("#p", "pending")
        .expression_attribute_values(":p", serde_dynamo::to_attribute_value(&newer).unwrap())
        .send()
        .await
        .unwrap();
    let maker = FaultServer::start(|_, _| Action::answer(202, json!({}))).await;
    through_makers_api(&mut h.tables, &maker);

    // WHEN this build defers a new command
    let deferred = answer(
        &h.tables,
        &directive("Alexa.LockController", "Unlock", "door", json!({})),
    )
    .await;

    // THEN it is deferred (not ENDPOINT_BUSY), and both commands are pending, the newer
    // build's with its field
    assert_eq!(
        deferred["event"]["header"]["name"], "DeferredResponse",
        "{deferred:#}"
    );
    let item = h
        .store()
        .client()
        .get_item()
        .table_name(&h.tables.config.devices_table)
        .key(
            "userId",
            aws_sdk_dynamodb::types::AttributeValue::S(user.to_string()),
        )
        .key(
            "endpointId",
            aws_sdk_dynamodb::types::AttributeValue::S("door".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let pending: Value = serde_dynamo::from_attribute_value(item["pending"].clone()).unwrap();
    assert_eq!(pending.as_array().map(Vec::len), Some(2), "{pending:#}");
    assert_eq!(pending[0]["retryBudget"], json!({"left": 2}), "{pending:#}");
}

// ---------------------------------------------------------------------------------------------
// Fault 6: bounded reads from peers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_makers_api_that_sends_50_mb_is_read_no_further_than_the_limit() {
    // GIVEN a plug behind a maker's API that answers 200 with a 50 MB body
    let user = support::proactive::user();
    let mut tables = TestTables::new().await;
    tables
        .store
        .put_device(&light(&user, "lamp", 50))
        .await
        .unwrap();
    link(&tables.store, &user).await;
    let maker = FaultServer::start(|_, _| Action::Huge {
        status: 200,
        bytes: 50 << 20,
    })
    .await;
    through_makers_api(&mut tables, &maker);

    // WHEN a command goes to it
    let answer = answer(
        &tables,
        &directive("Alexa.PowerController", "TurnOff", "lamp", json!({})),
    )
    .await;

    // THEN the answer is an error, nothing changed, and far less than 50 MB was read
    assert_eq!(answer["event"]["header"]["name"], "ErrorResponse");
    let stored = tables
        .store
        .device(&user, &"lamp".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state.power_on, Some(true));
    let sent = maker.body_bytes_sent();
    assert!(
        sent < 8 << 20,
        "{sent} bytes of the maker's 50 MB answer were read"
    );
}

// ---------------------------------------------------------------------------------------------
// Fault 8: one ReplyTo
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_error_answer_never_echoes_an_empty_correlation_token() {
    // GIVEN a directive with an empty correlation token and a token nobody issued
    let tables = TestTables::new().await;
    let mut directive = directive("Alexa.PowerController", "TurnOn", "lamp", json!({}));
    directive["directive"]["header"]["correlationToken"] = json!("");

    // WHEN the skill refuses it
    let answer = answer(&tables, &directive).await;

    // THEN the ErrorResponse carries no empty correlation token, as a parse error's would not
    assert_eq!(
        answer["event"]["payload"]["type"],
        "INVALID_AUTHORIZATION_CREDENTIAL"
    );
    assert_eq!(
        answer["event"]["header"].get("correlationToken"),
        None,
        "{answer:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Fault 7: a refreshed grant is written, whatever the caller's timeout does
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refresh_login_with_amazon_answered_is_written_though_the_ghost_budget_runs_out() {
    use support::throttle::ThrottlingProxy;
    use wiremock::{Mock, ResponseTemplate, matchers::method};
    // GIVEN a customer whose access token expires soon, Alexa still showing a device they
    // deleted, Login with Amazon answering a refresh after 1.5 s with a rotated refresh token,
    // and DynamoDB taking 2 s to get the grant's write
    let user = support::proactive::user();
    let h = Harness::new(&[]).await;
    link(h.store(), &user).await;
    h.grant(&user, 10).await;
    accept_all(&h.gateway).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"access_token": "Atza|fresh", "refresh_token": "Atzr|rotated",
                    "token_type": "bearer", "expires_in": 3600}),
                )
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&h.lwa)
        .await;
    let proxy = ThrottlingProxy::start(support::dynamo::endpoint())
        .await
        .unwrap();
    let mut config = h.tables.config.clone();
    config.dynamodb_endpoint = Some(proxy.url());
    let store = DynamoStore::new(
        alexa_smart_home::store::dynamo::client(&config)
            .await
            .unwrap(),
        &config,
    );
    let skill = support::skill(store, &config);
    proxy.forward_late("UpdateItem", 1, Duration::from_secs(2));

    // WHEN Alexa sends a directive for the deleted device (the ghost path refreshes the grant
    // to send its DeleteReport)
    let gone = directive("Alexa.PowerController", "TurnOn", "deleted-lamp", json!({}));
    let answer = support::json(&skill.handle(&gone.to_string()).await);
    schema::assert_valid(&answer);
    assert_eq!(answer["event"]["payload"]["type"], "NO_SUCH_ENDPOINT");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // THEN the refreshed grant was stored: Login with Amazon's rotated refresh token is kept
    let grant = h.store().grant(&user).await.unwrap().unwrap();
    assert_eq!(
        grant.refresh_token.expose(),
        "Atzr|rotated",
        "the rotated refresh token was lost: {grant:?}"
    );
    assert_eq!(grant.version, 2);
}

#[tokio::test]
async fn discovery_of_a_huge_account_reads_what_it_can_send_and_counts_the_rest() {
    use support::throttle::ThrottlingProxy;
    // GIVEN an account of 1,000 devices, read in pages of 100
    let user = support::proactive::user();
    let tables = TestTables::with_page_size(Some(100)).await;
    let devices: Vec<Device> = (0..1000)
        .map(|i| support::proactive::device(&user, &format!("lamp-{i:04}")))
        .collect();
    alexa_smart_home::store::seed::Seed {
        devices: devices.clone(),
        tokens: Vec::new(),
    }
    .apply(&tables.store)
    .await
    .unwrap();
    link(&tables.store, &user).await;
    let proxy = ThrottlingProxy::start(support::dynamo::endpoint())
        .await
        .unwrap();
    let mut config = tables.config.clone();
    config.dynamodb_endpoint = Some(proxy.url());
    let store = DynamoStore::new(
        alexa_smart_home::store::dynamo::client(&config)
            .await
            .unwrap(),
        &config,
    );
    let skill = support::skill(store, &config);

    // WHEN Alexa discovers
    let discover = support::directive_with_token("events/Discovery/Discovery.request.json", TOKEN);
    let answer = support::json(&skill.handle(&discover).await);

    // THEN 300 endpoints are sent, and the items read whole are no more than those 300 (the
    // rest only counted)
    schema::assert_valid(&answer);
    let endpoints = answer["event"]["payload"]["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 300);
    assert_eq!(endpoints[0]["endpointId"], "lamp-0000");
    let stats = proxy.stats();
    let queries = stats.by_operation.get("Query").map_or(0, |c| c.requests);
    assert!(
        queries <= 4,
        "{queries} Query requests for 300 endpoints in pages of 100: {stats:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Fault 3 (and fault 2's budget): what cannot work as configured fails the cold start, loudly
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_skill_whose_command_and_confirmation_cannot_fit_in_8_s_fails_its_cold_start() {
    // GIVEN a maker's API timeout and a confirmation wait that add up past Alexa's 8 s
    let tables = TestTables::new().await;
    let api = RuntimeApi::start().await.unwrap();
    let output = api
        .command(env!("CARGO_BIN_EXE_skill"), "reliability")
        .envs(tables.lambda_env())
        .env("DEVICE_API_TIMEOUT_MS", "6000")
        .env("CONFIRM_WAIT_MS", "2500")
        .output()
        .unwrap();

    // THEN the process ends at its cold start, saying which setting and why
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DEVICE_API_TIMEOUT_MS") && stderr.contains("6500 ms"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Beyond the eight: the AWS SDK's own retries sent an IoT command twice
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_shadow_update_whose_answer_is_slow_is_not_sent_again_by_the_sdk() {
    use support::throttle::ThrottlingProxy;
    // GIVEN a light behind AWS IoT, whose data endpoint takes the update at once but answers
    // after 2.5 s (the SDK's attempt timeout is 2 s)
    let user = support::proactive::user();
    let tables = TestTables::new().await;
    let thing = format!("thing-{}", uuid::Uuid::new_v4().simple());
    let mut lamp = light(&user, "porch", 50);
    lamp.definition.device_cloud = Some(Adapter::Iot);
    lamp.thing_name = Some(thing.clone());
    tables.store.put_device(&lamp).await.unwrap();
    link(&tables.store, &user).await;
    let shadows = support::iot::shadows(tables.store.clone(), &tables.config).await;
    shadows.create_thing(&thing).await.unwrap();
    let proxy = ThrottlingProxy::start(support::iot::endpoint())
        .await
        .unwrap();
    proxy.answer_late("<none>", 1, Duration::from_millis(2500));
    let mut config = support::iot::with_iot(&tables.config);
    config.iot_data_endpoint = Some(proxy.url());
    let sdk = alexa_smart_home::store::dynamo::sdk_config(&config)
        .await
        .unwrap();
    let skill = support::skill(tables.store.clone(), &config).with_device_clouds(
        alexa_smart_home::cloud::DeviceClouds::from_config(&config, Some(&sdk)).unwrap(),
    );

    // WHEN the customer turns it off
    let off = directive("Alexa.PowerController", "TurnOff", "porch", json!({}));
    let answer = support::json(&skill.handle(&off.to_string()).await);

    // THEN one update reached the shadow, and Alexa hears the light off
    schema::assert_valid(&answer);
    assert_eq!(answer["event"]["header"]["name"], "Response", "{answer:#}");
    let updates = proxy.stats().requests;
    assert_eq!(
        updates, 1,
        "the shadow got {updates} desired updates for one command"
    );
}

// ---------------------------------------------------------------------------------------------
// Beyond the eight: an item this build cannot read is not a deleted device
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reconciliation_never_deletes_an_endpoint_whose_item_this_build_cannot_read() {
    use alexa_smart_home::reconcile::run::Reconciler;
    // GIVEN a customer whose fan Alexa has, and whose item now holds a value this build cannot
    // read (a maker's typo, or a newer build's encoding)
    let user = support::proactive::user();
    let fan = support::proactive::device(&user, "fan");
    let h = Harness::new(std::slice::from_ref(&fan)).await;
    h.grant(&user, 3600).await;
    accept_all(&h.gateway).await;
    h.store()
        .client()
        .update_item()
        .table_name(&h.tables.config.devices_table)
        .key(
            "userId",
            aws_sdk_dynamodb::types::AttributeValue::S(user.to_string()),
        )
        .key(
            "endpointId",
            aws_sdk_dynamodb::types::AttributeValue::S("fan".into()),
        )
        .update_expression("SET #s = :s")
        .expression_attribute_names("#s", "state")
        .expression_attribute_values(
            ":s",
            serde_dynamo::to_attribute_value(json!({"powerOn": "yes"})).unwrap(),
        )
        .send()
        .await
        .unwrap();

    // WHEN the customer is reconciled
    let reconciler = Reconciler::from_config(
        h.store().clone(),
        &h.tables.config,
        alexa_smart_home::http::client().unwrap(),
    );
    let summary = reconciler
        .customers(
            vec![user.clone()],
            tokio::time::Instant::now() + Duration::from_secs(60),
        )
        .await;

    // THEN nothing is deleted from Alexa: the device is still the customer's
    assert!(summary.is_complete(), "{summary:?}");
    let events = h.events().await;
    assert!(
        !names(&events).contains(&"DeleteReport"),
        "the unreadable fan was deleted from Alexa: {events:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Beyond the eight: a device cloud whose clock is behind the skill's
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_confirmation_from_a_device_cloud_whose_clock_is_behind_still_counts() {
    // GIVEN a lock behind the maker's API, told to lock
    let (mut h, user, _maker) = lock_deferred(30).await;

    // WHEN the maker's cloud, whose clock is 5 s behind ours, records the lock's report
    h.store()
        .update_state(
            &user,
            &"door".into(),
            &report(locked(), Clock::system().now_ms() - 5_000),
        )
        .await
        .unwrap();
    no_failures(&h.run_batch().await.1);

    // THEN it is the lock's answer: Alexa gets the asynchronous Response
    let events = h.events().await;
    assert_eq!(names(&events), ["Response", "ChangeReport"], "{events:#?}");
}
