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

/// Whether the check rejects the message. The schema is loaded first, outside `catch_unwind`:
/// a missing schema fails the test instead of counting as a rejection.
fn rejected(message: Value) -> bool {
    schema::validator();
    catch_unwind(|| schema::assert_valid(&message)).is_err()
}

#[test]
fn a_valid_message_passes() {
    schema::assert_valid(&discover_response(light()));
}

#[test]
fn the_check_rejects_what_alexa_rejects() {
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut e = light();
    e["displayCategories"] = json!(["TOASTER"]);
    cases.push(("unknown category", discover_response(e)));
    let mut e = light();
    e.as_object_mut().unwrap().remove("friendlyName");
    cases.push(("no friendlyName", discover_response(e)));
    let mut e = light();
    e["endpointId"] = json!("has space");
    cases.push(("endpoint id pattern", discover_response(e)));
    let mut e = light();
    e["capabilities"] =
        json!([{"type": "AlexaInterface", "interface": "Alexa.PowerController", "version": "3"}]);
    cases.push(("no Alexa interface (own check)", discover_response(e)));
    let mut m = discover_response(light());
    m["event"]["header"]["messageId"] = json!("not-a-uuid");
    cases.push(("messageId not a UUID (own check)", m));
    let mut m = discover_response(light());
    m["event"]["payload"]["type"] = json!("extra");
    cases.push(("extra payload field", m));
    for (what, message) in cases {
        assert!(rejected(message), "{what}");
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
