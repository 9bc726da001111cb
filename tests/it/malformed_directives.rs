//! Malformed and unsupported directives: each gets a well-formed ErrorResponse, never a panic.
//! The store is the in-memory one: none of these may reach storage.

use crate::support;

use alexa_smart_home::config::Config;
use alexa_smart_home_local::memory::MemoryStore;
use serde_json::{Value, json};
use support::schema;

fn header(namespace: &str, name: &str) -> Value {
    json!({"namespace": namespace, "name": name, "payloadVersion": "3", "messageId": "m-1", "correlationToken": "corr-1"})
}

fn discover_with_payload(payload: Value) -> String {
    json!({"directive": {"header": header("Alexa.Discovery", "Discover"), "payload": payload}})
        .to_string()
}

fn cases() -> Vec<(&'static str, String)> {
    let nested = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    vec![
        ("not JSON", "this is not json".to_owned()),
        ("JSON null", "null".to_owned()),
        ("JSON array", "[1, 2, 3]".to_owned()),
        ("JSON string", "\"directive\"".to_owned()),
        ("empty object", "{}".to_owned()),
        ("no header", json!({"directive": {"payload": {}}}).to_string()),
        (
            "header without messageId",
            json!({"directive": {"header": {"namespace": "Alexa.Discovery", "name": "Discover", "payloadVersion": "3"}}})
                .to_string(),
        ),
        ("namespace not a string", json!({"directive": {"header": {"namespace": 7, "name": "Discover", "payloadVersion": "3", "messageId": "m"}}}).to_string()),
        ("wrong payloadVersion", {
            let mut h = header("Alexa.Discovery", "Discover");
            h["payloadVersion"] = json!("2");
            json!({"directive": {"header": h, "payload": {"scope": {"type": "BearerToken", "token": "t"}}}}).to_string()
        }),
        ("numeric payloadVersion", {
            let mut h = header("Alexa.Discovery", "Discover");
            h["payloadVersion"] = json!(3);
            json!({"directive": {"header": h}}).to_string()
        }),
        ("unknown namespace", json!({"directive": {"header": header("Alexa.Teleporter", "Beam"), "payload": {}}}).to_string()),
        ("unknown name", json!({"directive": {"header": header("Alexa.Discovery", "DiscoverEverything"), "payload": {}}}).to_string()),
        ("missing payload", json!({"directive": {"header": header("Alexa.Discovery", "Discover")}}).to_string()),
        ("missing token", discover_with_payload(json!({"scope": {"type": "BearerToken"}}))),
        ("non-string token", discover_with_payload(json!({"scope": {"type": "BearerToken", "token": 12345}}))),
        ("empty token", discover_with_payload(json!({"scope": {"type": "BearerToken", "token": ""}}))),
        ("token of 10 KB", discover_with_payload(json!({"scope": {"type": "BearerToken", "token": "t".repeat(10_240)}}))),
        ("scope of unknown type", discover_with_payload(json!({"scope": {"type": "Basic", "token": "t"}}))),
        ("scope not an object", discover_with_payload(json!({"scope": "t"}))),
        ("deeply nested payload", discover_with_payload(serde_json::from_str::<Value>("[]").unwrap()).replace("[]", &nested)),
        (
            "endpoint id of 10 KB",
            json!({"directive": {"header": header("Alexa.PowerController", "TurnOn"),
                "endpoint": {"endpointId": "e".repeat(10_240), "scope": {"type": "BearerToken", "token": "t"}}, "payload": {}}})
            .to_string(),
        ),
        (
            "endpoint id with forbidden characters",
            json!({"directive": {"header": header("Alexa.PowerController", "TurnOn"),
                "endpoint": {"endpointId": "light 1/2", "scope": {"type": "BearerToken", "token": "t"}}, "payload": {}}})
            .to_string(),
        ),
        (
            "cookie with a non-string value",
            json!({"directive": {"header": header("Alexa.PowerController", "TurnOn"),
                "endpoint": {"endpointId": "light-1", "cookie": {"n": 1}}, "payload": {}}})
            .to_string(),
        ),
        ("directive of 100 KB", discover_with_payload(json!({"scope": {"type": "BearerToken", "token": "t"}, "pad": "p".repeat(100_000)}))),
    ]
}

#[tokio::test]
async fn every_malformed_directive_gets_an_invalid_directive_error_response() {
    let skill = support::skill(MemoryStore::new(), &Config::local("http://127.0.0.1:9"));
    skill.store().set_failing(true); // nothing here may need storage
    let cases = cases();
    assert!(cases.len() >= 12);
    for (what, raw) in cases {
        let answer: Value = serde_json::from_str(skill.handle(&raw).await.get())
            .unwrap_or_else(|e| panic!("{what}: answer is not JSON: {e}"));
        schema::assert_valid(&answer);
        assert_eq!(answer["event"]["header"]["name"], "ErrorResponse", "{what}");
        assert_eq!(
            answer["event"]["payload"]["type"], "INVALID_DIRECTIVE",
            "{what}"
        );
        assert!(
            answer["event"]["payload"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
}

#[tokio::test]
async fn an_error_after_the_header_echoes_the_correlation_token_and_a_valid_endpoint() {
    let skill = support::skill(MemoryStore::new(), &Config::local("http://127.0.0.1:9"));
    let raw = json!({"directive": {"header": header("Alexa.PowerController", "Explode"),
        "endpoint": {"endpointId": "light-1", "scope": {"type": "BearerToken", "token": "t"}}, "payload": {}}});
    let answer = support::json(&skill.handle(&raw.to_string()).await);
    schema::assert_valid(&answer);
    assert_eq!(answer["event"]["header"]["correlationToken"], "corr-1");
    assert_eq!(answer["event"]["endpoint"]["endpointId"], "light-1");
    assert!(
        answer["event"]["payload"]["message"]
            .as_str()
            .unwrap()
            .contains("Alexa.PowerController.Explode")
    );
}

#[tokio::test]
async fn an_invalid_endpoint_id_is_not_echoed() {
    let skill = support::skill(MemoryStore::new(), &Config::local("http://127.0.0.1:9"));
    let raw = json!({"directive": {"header": header("Alexa.PowerController", "TurnOn"),
        "endpoint": {"endpointId": "e".repeat(300)}, "payload": {}}});
    let answer = support::json(&skill.handle(&raw.to_string()).await);
    schema::assert_valid(&answer);
    assert!(answer["event"].get("endpoint").is_none());
}

#[tokio::test]
async fn a_storage_outage_is_internal_error() {
    let skill = support::skill(MemoryStore::new(), &Config::local("http://127.0.0.1:9"));
    skill.store().set_failing(true);
    let answer = support::json(
        &skill
            .handle(&support::read("events/Discovery/Discovery.request.json"))
            .await,
    );
    schema::assert_valid(&answer);
    assert_eq!(answer["event"]["payload"]["type"], "INTERNAL_ERROR");
}
