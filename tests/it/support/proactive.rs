//! The proactive path's test harness: device writes on the real local DynamoDB server → its
//! stream (read as Lambda would) → the stream processor → wiremock fakes of the event gateway
//! and Login with Amazon on 127.0.0.1.

use std::time::Duration;

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::Device;
use alexa_smart_home::device::mapping;
use alexa_smart_home::device::properties::reportable;
use alexa_smart_home::gateway::GatewayRegion;
use alexa_smart_home::http;
use alexa_smart_home::store::dynamo::DynamoStore;
use alexa_smart_home::store::{
    Definition, Grant, GrantStore, Known, NewGrant, ViewStore, unix_seconds,
};
use alexa_smart_home::stream::StreamProcessor;
use alexa_smart_home::view;
use alexa_smart_home_local::stream::{LocalStream, Start};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::dynamo::TestTables;
use super::schema;
use alexa_smart_home::ids::UserId;

pub const ACCESS: &str = "Atza|initial-access-token";
pub const REFRESH: &str = "Atzr|initial-refresh-token";

pub struct Harness {
    pub tables: TestTables,
    pub gateway: MockServer,
    pub lwa: MockServer,
    pub processor: StreamProcessor<DynamoStore>,
    pub stream: LocalStream,
    /// The processor's clock, stopped at the harness's start: a test moves it.
    pub clock: Clock,
}

impl Harness {
    /// Fresh tables holding `initial`, fakes, and a stream reader positioned after them.
    pub async fn new(initial: &[Device]) -> Self {
        let mut tables = TestTables::new().await;
        for d in initial {
            tables.store.put_device(d).await.unwrap();
        }
        told(&tables.store, initial).await;
        let gateway = MockServer::start().await;
        let lwa = MockServer::start().await;
        tables.config.lwa_token_url = format!("{}/auth/o2/token", lwa.uri());
        tables.config.lwa_client_id = Some("client-id".into());
        tables.config.lwa_client_secret = Some(Secret::new("client-secret"));
        tables.config.event_gateway_url = Some(format!("{}/v3/events", gateway.uri()));
        let clock = Clock::stopped();
        let processor = StreamProcessor::from_config(
            tables.store.clone(),
            &tables.config,
            http::client().unwrap(),
        )
        .with_clock(clock.clone());
        let endpoint = tables.config.dynamodb_endpoint.clone().unwrap();
        let stream = LocalStream::open(
            &endpoint,
            &tables.config.aws_region,
            &tables.config.devices_table,
            Start::Latest,
        )
        .await
        .unwrap();
        Self {
            tables,
            gateway,
            lwa,
            processor,
            stream,
            clock,
        }
    }

    pub fn store(&self) -> &DynamoStore {
        &self.tables.store
    }

    /// A grant for `user` whose access token expires `expires_in` seconds after the harness's
    /// clock.
    pub async fn grant(&self, user: &str, expires_in: i64) -> Grant {
        self.store()
            .put_grant(NewGrant {
                user_id: user.into(),
                access_token: Secret::new(ACCESS),
                refresh_token: Secret::new(REFRESH),
                expires_at: unix_seconds(self.clock.now()) + expires_in,
                region: GatewayRegion::NorthAmerica,
                granted_at: self.clock.now_ms(),
            })
            .await
            .unwrap()
    }

    /// Reads the next batch from the stream and hands it to the processor, then moves the
    /// stream on as Lambda would (redelivering from a reported failure).
    pub async fn run_batch(&mut self) -> (Event, DynamoDbEventResponse) {
        let batch = self.stream.next_batch(1000).await.unwrap();
        assert!(!batch.records.is_empty(), "the stream had no records");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let response = self.processor.process(batch.clone(), deadline).await;
        self.stream.done(&response).await.unwrap();
        (batch, response)
    }

    pub async fn gateway_requests(&self) -> Vec<Request> {
        self.gateway.received_requests().await.unwrap_or_default()
    }

    /// Every event the gateway received, each checked against the schema (and for DeleteReport,
    /// which the schema lacks, against the documented shape).
    pub async fn events(&self) -> Vec<Value> {
        let events: Vec<Value> = self
            .gateway_requests()
            .await
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("events are JSON"))
            .collect();
        for e in &events {
            schema::assert_valid(e);
        }
        events
    }

    pub async fn lwa_requests(&self) -> Vec<String> {
        self.lwa
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    }
}

/// Records `devices` in the Alexa view as accepted, definitions and states: the premise of a
/// test whose devices Alexa already has (else the stream adds each before its first
/// ChangeReport, as it must for an endpoint Alexa was never told of).
pub async fn told(store: &DynamoStore, devices: &[Device]) {
    for d in devices {
        let Some(endpoint) = mapping::checked_endpoint(&d.definition) else {
            continue;
        };
        let definition = Definition {
            endpoint_id: d.definition.endpoint_id.clone(),
            known: Known::Accepted(view::digest(&endpoint)),
            state: Some(view::state_digest(&reportable(d, 0))),
        };
        store
            .record_definitions(
                &d.definition.user_id,
                &[definition],
                Clock::system().now_ms(),
            )
            .await
            .unwrap();
    }
}

pub fn user() -> UserId {
    format!("user-{}", uuid::Uuid::new_v4().simple()).into()
}

pub fn device(user: &str, id: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": format!("Lamp {id}"),
        "description": "Smart bulb by Example Devices", "manufacturer": "Example Devices",
        "category": "LIGHT", "capabilities": [{"type": "power"}],
    }))
    .unwrap()
}

pub async fn accept_all(gateway: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v3/events"))
        .respond_with(ResponseTemplate::new(202))
        .with_priority(10)
        .mount(gateway)
        .await;
}

pub fn error_body(code: &str) -> Value {
    json!({"header": {"namespace": "System", "name": "Exception"}, "payload": {"code": code, "description": "test"}})
}

pub fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"]["header"]["name"].as_str().unwrap())
        .collect()
}

pub fn endpoint_ids(event: &Value) -> Vec<&str> {
    event["event"]["payload"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpointId"].as_str().unwrap())
        .collect()
}

pub fn no_failures(response: &DynamoDbEventResponse) {
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}

/// LWA answering every refresh with `invalid_grant`: the customer disabled the skill.
pub async fn lwa_revokes(lwa: &MockServer) {
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "revoked"})),
        )
        .mount(lwa)
        .await;
}

pub fn lwa_tokens(access: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "refresh_token": "Atzr|refreshed", "token_type": "bearer", "expires_in": 3600
    }))
}
