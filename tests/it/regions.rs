//! Every Alexa region from one device cloud: a region stack's skill (here a process with
//! `AWS_REGION=eu-west-1` and `HOME_REGION=us-east-1`) beside the home one, on the same
//! tables; the home stream and reconcile binaries send each customer's events to the gateway
//! of the region that received their AcceptGrant.

use crate::support;

use std::process::{Child, Stdio};
use std::time::Duration;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::device::Device;
use alexa_smart_home::gateway::GatewayRegion;
use alexa_smart_home::store::{GrantStore, TokenRecord};
use alexa_smart_home_local::runtime_api::RuntimeApi;
use alexa_smart_home_local::stream::{LocalStream, Start};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::schema;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WAIT: Duration = Duration::from_secs(30);

/// Kills the function process when the test ends, however it ends.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Lambda binary under its own Runtime API, with `env` on top of the tables' environment.
async fn function(
    binary: &str,
    tables: &TestTables,
    env: &[(&str, String)],
) -> (RuntimeApi, Function) {
    let api = RuntimeApi::start().await.unwrap();
    let child = api
        .command(binary, "local-test")
        .envs(tables.lambda_env())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the Lambda binary starts");
    (api, Function(child))
}

async fn invoke(api: &RuntimeApi, event: impl Into<bytes::Bytes>) -> Value {
    let answer = api.invoke(event, WAIT).await.unwrap();
    assert!(
        !answer.is_error,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

fn device(user: &str, id: &str, name: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": name, "description": "A lamp",
        "manufacturer": "Acme", "category": "LIGHT", "capabilities": [{"type": "power"}],
        "state": {"powerOn": false},
    }))
    .unwrap()
}

fn accept_grant(code: &str, token: &str) -> String {
    support::read("events/Authorization/Authorization.AcceptGrant.request.json")
        .replace("ANUbUKCJqlBOpMhwYWxU", code)
        .replace("access-token-from-skill", token)
}

/// (event name, endpoint id, bearer token) of each event a gateway fake received, each event
/// valid against the schema.
async fn received(gateway: &MockServer) -> Vec<(String, String, String)> {
    let mut seen = Vec::new();
    for request in gateway.received_requests().await.unwrap_or_default() {
        let event: Value = serde_json::from_slice(&request.body).unwrap();
        schema::assert_valid(&event);
        let token = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_owned();
        let name = event["event"]["header"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let endpoints: Vec<String> = match event["event"]["payload"]["endpoints"].as_array() {
            Some(list) => list
                .iter()
                .map(|e| e["endpointId"].as_str().unwrap().to_owned())
                .collect(),
            None => vec![
                event["event"]["endpoint"]["endpointId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ],
        };
        for endpoint in endpoints {
            seen.push((name.clone(), endpoint, token.clone()));
        }
    }
    seen.sort();
    seen
}

fn events(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut list: Vec<_> = list
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    list.sort();
    list
}

/// The stream binary handles what the devices table's stream holds, as Lambda would hand it.
async fn drain(stream: &mut LocalStream, api: &RuntimeApi) {
    let batch = stream.next_batch(1000).await.unwrap();
    assert!(!batch.records.is_empty(), "the stream had no records");
    let answer = invoke(api, serde_json::to_vec(&batch).unwrap()).await;
    let response: DynamoDbEventResponse = serde_json::from_value(answer).unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    stream.done(&response).await.unwrap();
}

#[tokio::test]
async fn each_customers_events_go_to_the_gateway_of_the_region_that_got_their_grant() {
    // GIVEN one customer in North America and one in Europe, each with a linked token
    let tables = TestTables::new().await;
    let (na, eu) = ("na-customer", "eu-customer");
    for d in [
        device(na, "na-lamp", "Hall lamp"),
        device(eu, "eu-lamp", "Lampe"),
        device(eu, "eu-desk", "Schreibtisch"),
    ] {
        tables.store.put_device(&d).await.unwrap();
    }
    for (token, user) in [("na-token", na), ("eu-token", eu)] {
        tables
            .store
            .put_token(
                &BearerToken::new(token),
                &TokenRecord {
                    user_id: user.into(),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
    }
    // AND Login with Amazon issuing each customer's tokens for their grant code, and a gateway
    // fake for each region
    let lwa = MockServer::start().await;
    for (code, access) in [
        ("na-code", "Atza|na"),
        ("eu-code", "Atza|eu"),
        ("eu-code-again", "Atza|eu-again"),
    ] {
        Mock::given(method("POST"))
            .and(body_string_contains(format!("code={code}&")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": access, "refresh_token": format!("Atzr|{code}"),
                "token_type": "bearer", "expires_in": 3600,
            })))
            .mount(&lwa)
            .await;
    }
    let (na_gateway, eu_gateway) = (MockServer::start().await, MockServer::start().await);
    for gateway in [&na_gateway, &eu_gateway] {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(202))
            .mount(gateway)
            .await;
    }
    let common = [
        ("LWA_TOKEN_URL", format!("{}/auth/o2/token", lwa.uri())),
        ("LWA_CLIENT_ID", "client-id".to_owned()),
        ("LWA_CLIENT_SECRET", "client-secret".to_owned()),
        (
            "EVENT_GATEWAY_URL_NA",
            format!("{}/v3/events", na_gateway.uri()),
        ),
        (
            "EVENT_GATEWAY_URL_EU",
            format!("{}/v3/events", eu_gateway.uri()),
        ),
        // Anything sent elsewhere is lost, and the counts below show it.
        ("EVENT_GATEWAY_URL", "http://127.0.0.1:9/nowhere".to_owned()),
    ];
    // AND the home stack's skill, stream and reconcile functions in us-east-1, and a region
    // stack's skill in eu-west-1 on the home tables
    let home = tables.config.aws_region.clone();
    assert_eq!(home, "us-east-1");
    let with = |extra: &[(&'static str, &str)]| {
        let mut env = common.to_vec();
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        env
    };
    let (na_skill, _f1) = function(env!("CARGO_BIN_EXE_skill"), &tables, &with(&[])).await;
    let region_stack = with(&[("AWS_REGION", "eu-west-1"), ("HOME_REGION", &home)]);
    let (eu_skill, _f2) = function(env!("CARGO_BIN_EXE_skill"), &tables, &region_stack).await;
    let (stream_fn, _f3) = function(env!("CARGO_BIN_EXE_stream"), &tables, &with(&[])).await;
    let (reconcile_fn, _f4) = function(env!("CARGO_BIN_EXE_reconcile"), &tables, &with(&[])).await;
    let endpoint = tables.config.dynamodb_endpoint.clone().unwrap();
    let mut stream = LocalStream::open(
        &endpoint,
        &home,
        &tables.config.devices_table,
        Start::Latest,
    )
    .await
    .unwrap();

    // WHEN the European customer's Discover reaches the region stack
    let discover =
        support::directive_with_token("events/Discovery/Discovery.request.json", "eu-token");
    let answer = invoke(&eu_skill, discover.clone()).await;
    // THEN it answers from the home tables
    schema::assert_valid(&answer);
    let ids: Vec<&str> = answer["event"]["payload"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpointId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["eu-desk", "eu-lamp"]);

    // WHEN each customer enables the skill in their own region, and the grants' writes
    // trigger their reconciliation
    for (api, code, token) in [
        (&na_skill, "na-code", "na-token"),
        (&eu_skill, "eu-code", "eu-token"),
    ] {
        let answer = invoke(api, accept_grant(code, token)).await;
        assert_eq!(
            answer["event"]["header"]["name"], "AcceptGrant.Response",
            "{answer}"
        );
    }
    let grant = |user: &'static str| {
        let store = tables.store.clone();
        async move { store.grant(&user.into()).await.unwrap().unwrap() }
    };
    assert_eq!(grant(na).await.region, GatewayRegion::NorthAmerica);
    assert_eq!(grant(eu).await.region, GatewayRegion::Europe);
    invoke(&reconcile_fn, json!({"userIds": [na, eu]}).to_string()).await;
    // AND each changes a device: the European one turns a lamp on, the American one adds one
    let mut lamp = device(eu, "eu-lamp", "Lampe");
    lamp.state.power_on = Some(true);
    tables.store.put_device(&lamp).await.unwrap();
    tables
        .store
        .put_device(&device(na, "na-porch", "Porch"))
        .await
        .unwrap();
    drain(&mut stream, &stream_fn).await;

    // THEN each gateway got its own customer's events, with their token, each once
    assert_eq!(
        received(&na_gateway).await,
        events(&[
            ("AddOrUpdateReport", "na-lamp", "Atza|na"),
            ("AddOrUpdateReport", "na-porch", "Atza|na"),
        ])
    );
    assert_eq!(
        received(&eu_gateway).await,
        events(&[
            ("AddOrUpdateReport", "eu-desk", "Atza|eu"),
            ("AddOrUpdateReport", "eu-lamp", "Atza|eu"),
            ("ChangeReport", "eu-lamp", "Atza|eu"),
        ])
    );

    // WHEN the European customer re-links through North America (a move of marketplace)
    na_gateway.reset().await;
    eu_gateway.reset().await;
    for gateway in [&na_gateway, &eu_gateway] {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(202))
            .mount(gateway)
            .await;
    }
    invoke(&na_skill, accept_grant("eu-code-again", "eu-token")).await;
    invoke(&reconcile_fn, json!({"userIds": [eu]}).to_string()).await;
    lamp.state.power_on = Some(false);
    tables.store.put_device(&lamp).await.unwrap();
    drain(&mut stream, &stream_fn).await;

    // THEN they are moved: their grant is North America's, and everything they have, and
    // their next change, goes to that gateway alone
    assert_eq!(grant(eu).await.region, GatewayRegion::NorthAmerica);
    assert_eq!(
        received(&na_gateway).await,
        events(&[
            ("AddOrUpdateReport", "eu-desk", "Atza|eu-again"),
            ("AddOrUpdateReport", "eu-lamp", "Atza|eu-again"),
            ("ChangeReport", "eu-lamp", "Atza|eu-again"),
        ])
    );
    assert_eq!(received(&eu_gateway).await, events(&[]));

    // AND a region stack that is not told the home region looks for the tables in its own
    // region, finds none, and says so rather than answering an empty account
    let lost = with(&[("AWS_REGION", "eu-west-1")]);
    let (lost_skill, _f5) = function(env!("CARGO_BIN_EXE_skill"), &tables, &lost).await;
    let answer = invoke(&lost_skill, discover).await;
    assert_eq!(
        answer["event"]["header"]["name"], "ErrorResponse",
        "{answer}"
    );
    schema::assert_valid(&answer);
    assert_ne!(
        answer["event"]["payload"]["type"],
        "INVALID_AUTHORIZATION_CREDENTIAL"
    );
}
