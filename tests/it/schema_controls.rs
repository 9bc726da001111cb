//! Negative controls: the schema check used by every other test does reject what Alexa rejects,
//! so a passing test means something.

use crate::support;

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

/// A fan speed range as the skill declares it, for the generic-controller controls below.
fn fan() -> Value {
    let mut e = light();
    e["capabilities"].as_array_mut().unwrap().push(json!({
        "type": "AlexaInterface", "interface": "Alexa.RangeController", "instance": "Fan.Speed",
        "version": "3",
        "properties": {"supported": [{"name": "rangeValue"}], "proactivelyReported": true, "retrievable": true},
        "capabilityResources": {"friendlyNames": [{"@type": "asset", "value": {"assetId": "Alexa.Setting.FanSpeed"}}]},
        "configuration": {"supportedRange": {"minimumValue": 1, "maximumValue": 5, "precision": 1},
            "presets": [{"rangeValue": 5, "presetResources": {"friendlyNames": [
                {"@type": "asset", "value": {"assetId": "Alexa.Value.Maximum"}}]}}]},
        "semantics": {"actionMappings": [{"@type": "ActionsToDirective", "actions": ["Alexa.Actions.Raise"],
            "directive": {"name": "AdjustRangeValue", "payload": {"rangeValueDelta": 1, "rangeValueDeltaDefault": false}}}]}
    }));
    e
}

#[test]
fn own_checks_of_generic_controllers_reject_what_the_schema_lets_through() {
    schema::assert_valid(&discover_response(fan()));
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut e = fan();
    e["capabilities"][1]["configuration"]["presets"][0]["rangeValue"] = json!(9);
    cases.push(("preset outside the range", e));
    let mut e = fan();
    e["capabilities"][1]["semantics"]["actionMappings"][0]["directive"]["name"] = json!("SetMode");
    cases.push(("semantics name another interface's directive", e));
    let mut e = fan();
    e["capabilities"][1]
        .as_object_mut()
        .unwrap()
        .remove("instance");
    cases.push(("generic controller without instance", e));
    for (what, endpoint) in cases {
        assert!(rejected(discover_response(endpoint)), "{what}");
    }

    // A context property must name a declared instance.
    let response = |instance: &str| {
        json!({"event": {"header": {"namespace": "Alexa", "name": "Response", "payloadVersion": "3",
            "messageId": uuid::Uuid::new_v4().to_string(), "correlationToken": "c"},
            "endpoint": {"endpointId": "light-1"}, "payload": {}},
            "context": {"properties": [{"namespace": "Alexa.RangeController", "instance": instance,
                "name": "rangeValue", "value": 3, "timeOfSample": "2026-11-30T10:00:00.000Z",
                "uncertaintyInMilliseconds": 0}]}})
    };
    schema::assert_valid(&response("Fan.Speed"));
    schema::assert_instances_declared(&response("Fan.Speed"), &fan());
    assert!(
        catch_unwind(|| schema::assert_instances_declared(&response("Fan.Direction"), &fan()))
            .is_err(),
        "undeclared instance"
    );
}

/// A TV that reports whether it plays, declared as Amazon documents `Alexa.PlaybackStateReporter`.
fn tv() -> Value {
    let mut e = light();
    e["displayCategories"] = json!(["TV"]);
    e["capabilities"].as_array_mut().unwrap().push(json!({
        "type": "AlexaInterface", "interface": "Alexa.PlaybackStateReporter", "version": "3",
        "properties": {"supported": [{"name": "playbackState"}], "proactivelyReported": true,
            "retrievable": true}
    }));
    e
}

/// An `Alexa.Response` whose context holds `property`.
fn response_with(property: Value) -> Value {
    json!({"event": {"header": {"namespace": "Alexa", "name": "Response", "payloadVersion": "3",
        "messageId": uuid::Uuid::new_v4().to_string(), "correlationToken": "c"},
        "endpoint": {"endpointId": "light-1"}, "payload": {}},
        "context": {"properties": [property]}})
}

fn playback_state(value: Value) -> Value {
    json!({"namespace": "Alexa.PlaybackStateReporter", "name": "playbackState", "value": value,
        "timeOfSample": "2026-11-30T10:00:00.000Z", "uncertaintyInMilliseconds": 0})
}

#[test]
fn the_playback_state_reporter_correction_accepts_what_amazon_documents_and_nothing_looser() {
    // What the docs show passes: the capability, and each of the three states.
    schema::assert_valid(&discover_response(tv()));
    for state in ["PLAYING", "PAUSED", "STOPPED"] {
        schema::assert_valid(&response_with(playback_state(json!({"state": state}))));
    }

    // The property: another state, no state, an extra key in the value or beside it, a bare
    // string, an instance (the interface has none).
    let mut cases: Vec<(&str, Value)> = vec![
        (
            "a state the docs do not name",
            response_with(playback_state(json!({"state": "REWINDING"}))),
        ),
        (
            "a value without state",
            response_with(playback_state(json!({}))),
        ),
        (
            "an extra key in the value",
            response_with(playback_state(
                json!({"state": "PLAYING", "positionMilliseconds": 1000}),
            )),
        ),
        (
            "the state as a bare string",
            response_with(playback_state(json!("PLAYING"))),
        ),
    ];
    let mut p = playback_state(json!({"state": "PLAYING"}));
    p["instance"] = json!("TV.Playback");
    cases.push(("an instance", response_with(p)));
    let mut p = playback_state(json!({"state": "PLAYING"}));
    p["extra"] = json!(true);
    cases.push(("an extra key beside the value", response_with(p)));
    let mut p = playback_state(json!({"state": "PLAYING"}));
    p.as_object_mut().unwrap().remove("timeOfSample");
    cases.push(("no timeOfSample", response_with(p)));
    let mut p = playback_state(json!({"state": "PLAYING"}));
    p["name"] = json!("playback");
    cases.push(("another property name", response_with(p)));

    // The capability: another property, an extra key, another version, no properties.
    let reporter = |edit: &dyn Fn(&mut Value)| {
        let mut e = tv();
        edit(&mut e["capabilities"][1]);
        discover_response(e)
    };
    cases.push((
        "a property the interface does not have",
        reporter(&|c| c["properties"]["supported"] = json!([{"name": "positionMilliseconds"}])),
    ));
    cases.push((
        "an extra key in the capability",
        reporter(&|c| c["configuration"] = json!({})),
    ));
    cases.push((
        "another version",
        reporter(&|c| c["version"] = json!("1.0")),
    ));
    cases.push((
        "no properties",
        reporter(&|c| {
            c.as_object_mut().unwrap().remove("properties");
        }),
    ));
    cases.push((
        "retrievable as a string",
        reporter(&|c| c["properties"]["retrievable"] = json!("true")),
    ));
    for (what, message) in cases {
        assert!(rejected(message), "{what}");
    }
}
