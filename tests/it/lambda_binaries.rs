//! The real Lambda binaries, end to end: each is started as Lambda would start it, talks to a
//! local Runtime API, and answers against the real local DynamoDB-compatible server.

use crate::support;

use std::process::{Child, Stdio};
use std::time::Duration;

use alexa_smart_home::store::seed::Seed;
use alexa_smart_home_local::runtime_api::RuntimeApi;
use serde_json::Value;
use support::dynamo::TestTables;
use support::schema;

/// Kills the function process when the test ends, however it ends.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(api: &RuntimeApi, binary: &str, tables: &TestTables) -> Function {
    let child = api
        .command(binary, "local-test")
        .envs(tables.lambda_env())
        .env("EVENT_GATEWAY_URL", "http://127.0.0.1:9/unused")
        .env("AWS_LAMBDA_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the Lambda binary starts");
    Function(child)
}

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn the_skill_binary_answers_discover_and_bad_input_through_the_runtime_api() {
    // GIVEN the example account and the skill binary started as Lambda starts it
    let tables = TestTables::new().await;
    let seed = Seed::from_json(&support::read("fixtures/example-account.json")).unwrap();
    seed.apply(&tables.store).await.unwrap();
    let api = RuntimeApi::start().await.unwrap();
    let _function = start(&api, env!("CARGO_BIN_EXE_skill"), &tables);

    // WHEN Alexa's Discover arrives
    let answer = api
        .invoke(
            support::read("events/Discovery/Discovery.request.json"),
            WAIT,
        )
        .await
        .unwrap();

    // THEN the binary answers a valid Discover.Response with every seeded device
    assert!(!answer.is_error);
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    schema::assert_valid(&answer);
    assert_eq!(
        answer["event"]["payload"]["endpoints"]
            .as_array()
            .unwrap()
            .len(),
        seed.devices.len()
    );
    assert!(api.first_poll().is_some());

    // AND bad input is an ErrorResponse, not a Lambda error, and the process keeps serving
    let bad = api.invoke(r#"{"directive": 42}"#, WAIT).await.unwrap();
    assert!(!bad.is_error);
    let bad: Value = serde_json::from_slice(&bad.body).unwrap();
    schema::assert_valid(&bad);
    assert_eq!(bad["event"]["payload"]["type"], "INVALID_DIRECTIVE");
    let again = api
        .invoke(
            support::read("events/Alexa/Alexa.ReportState.request.json"),
            WAIT,
        )
        .await
        .unwrap();
    let again: Value = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(again["event"]["header"]["name"], "StateReport");
}

#[tokio::test]
async fn the_stream_binary_handles_a_stream_batch_through_the_runtime_api() {
    // GIVEN the stream binary and the sample batch of a customer without a grant
    let tables = TestTables::new().await;
    let api = RuntimeApi::start().await.unwrap();
    let _function = start(&api, env!("CARGO_BIN_EXE_stream"), &tables);

    let answer = api
        .invoke(
            support::read("events/DynamoDBStream/DevicesTable.add-rename-delete.json"),
            WAIT,
        )
        .await
        .unwrap();

    // THEN it answers with no batch item failures (nothing to send, nothing lost)
    assert!(
        !answer.is_error,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn the_bridge_binary_writes_a_reported_state_through_the_runtime_api() {
    // GIVEN the example account's lock, routed through IoT, and the bridge binary
    let tables = TestTables::new().await;
    let seed = Seed::from_json(&support::read("fixtures/example-account.json")).unwrap();
    let mut lock = seed
        .devices
        .into_iter()
        .find(|d| d.definition.endpoint_id == "front-door-lock")
        .unwrap();
    lock.definition.device_cloud = Some(alexa_smart_home::cloud::Adapter::Iot);
    lock.thing_name = Some("front-door-lock".into());
    lock.state.lock_state = Some(alexa_smart_home::device::LockState::Unlocked);
    tables.store.put_device(&lock).await.unwrap();
    let api = RuntimeApi::start().await.unwrap();
    let _function = start(&api, env!("CARGO_BIN_EXE_bridge"), &tables);

    // WHEN the topic rule hands it the sample shadow document (the lock reports LOCKED)
    let answer = api
        .invoke(
            support::read("events/IoT/ShadowDocuments.front-door-lock.locked.json"),
            WAIT,
        )
        .await
        .unwrap();

    // THEN the reported state is in the devices table, with the shadow's version
    assert!(
        !answer.is_error,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    use alexa_smart_home::store::DeviceStore;
    let stored = tables
        .store
        .device(&lock.definition.user_id, &"front-door-lock".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.state.lock_state,
        Some(alexa_smart_home::device::LockState::Locked)
    );
    assert_eq!(stored.shadow_version, Some(8));

    // AND something that is not a shadow document is dropped, not retried, and the process
    // keeps serving
    let junk = api.invoke(r#"{"hello": "world"}"#, WAIT).await.unwrap();
    assert!(!junk.is_error);
    let again = api
        .invoke(
            support::read("events/IoT/ShadowDocuments.front-door-lock.locked.json"),
            WAIT,
        )
        .await
        .unwrap();
    assert!(!again.is_error);
}
