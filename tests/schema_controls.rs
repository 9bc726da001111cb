//! Negative controls: the schema check used by every other test does reject what Alexa rejects,
//! so a passing test means something.

mod support;

use std::panic::catch_unwind;

use serde_json::{Value, json};
use support::schema;

fn discover_response(endpoint: Value) -> Value {
    json!({"event": {"header": {"namespace": "Alexa.Discovery", "name": "Discover.Response",
        "payloadVersion": "3", "messageId": uuid::Uuid::new_v4().to_string()},
        "payload": {"endpoints": [endpoint]}}})
}

fn light() -> Value {
    json!({"endpointId": "light-1", "manufacturerName": "Acme", "description": "Bulb",
        "friendlyName": "Lamp", "displayCategories": ["LIGHT"],
        "capabilities": [{"type": "AlexaInterface", "interface": "Alexa", "version": "3"}]})
}

fn rejected(message: Value) -> bool {
    catch_unwind(|| schema::assert_valid(&message)).is_err()
}

#[test]
fn a_valid_message_passes() {
    schema::assert_valid(&discover_response(light()));
}

#[test]
fn the_check_rejects_what_alexa_rejects() {
    let schema_present = schema::schema_path().exists();
    let mut cases: Vec<(&str, Value, bool)> = Vec::new();
    let mut e = light();
    e["displayCategories"] = json!(["TOASTER"]);
    cases.push(("unknown category", discover_response(e), schema_present));
    let mut e = light();
    e.as_object_mut().unwrap().remove("friendlyName");
    cases.push(("no friendlyName", discover_response(e), schema_present));
    let mut e = light();
    e["endpointId"] = json!("has space");
    cases.push(("endpoint id pattern", discover_response(e), schema_present));
    let mut e = light();
    e["capabilities"] =
        json!([{"type": "AlexaInterface", "interface": "Alexa.PowerController", "version": "3"}]);
    cases.push(("no Alexa interface (own check)", discover_response(e), true));
    let mut m = discover_response(light());
    m["event"]["header"]["messageId"] = json!("not-a-uuid");
    cases.push(("messageId not a UUID (own check)", m, true));
    let mut m = discover_response(light());
    m["event"]["payload"]["type"] = json!("extra");
    cases.push(("extra payload field", m, schema_present));
    for (what, message, expect_rejected) in cases {
        assert_eq!(rejected(message), expect_rejected, "{what}");
    }
}

#[test]
fn a_newer_documented_category_is_accepted_by_the_named_correction() {
    let mut e = light();
    e["displayCategories"] = json!(["VACUUM_CLEANER"]);
    schema::assert_valid(&discover_response(e));
}

#[test]
fn the_delete_report_shape_is_checked_by_own_code() {
    let delete = |endpoints: Value| {
        json!({"event": {"header": {"namespace": "Alexa.Discovery", "name": "DeleteReport",
            "payloadVersion": "3", "messageId": uuid::Uuid::new_v4().to_string()},
            "payload": {"endpoints": endpoints, "scope": {"type": "BearerToken", "token": "t"}}}})
    };
    schema::assert_valid(&delete(json!([{"endpointId": "lamp-1"}])));
    assert!(rejected(delete(json!([]))), "no endpoints");
    assert!(
        rejected(delete(json!([{"endpointId": "lamp 1"}]))),
        "bad endpoint id"
    );
    assert!(
        rejected(delete(
            json!([{"endpointId": "lamp-1", "friendlyName": "x"}])
        )),
        "extra field"
    );
}
