//! Validation of every message the skill produces against the official Alexa Smart Home
//! JSON schema (draft-04), with only the corrections that `shared/alexa/NOTES.md` names, plus
//! checks of what the schema leaves out.

use std::sync::LazyLock;

use alexa_smart_home::alexa::validate;
use serde_json::Value;

/// Where the schema is: `ALEXA_SCHEMA_PATH`, else `../shared/alexa/` beside the repository.
pub fn schema_path() -> std::path::PathBuf {
    std::env::var_os("ALEXA_SCHEMA_PATH")
        .map(Into::into)
        .unwrap_or_else(|| super::repo_path("../shared/alexa/alexa_smart_home_message_schema.json"))
}

static VALIDATOR: LazyLock<Option<jsonschema::Validator>> = LazyLock::new(|| {
    let path = schema_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            let msg = format!(
                "\n!!!!!!!!\n!!! The official Alexa message schema is missing at {} ({e}).\n\
                 !!! Messages are NOT being validated against it. Get it from the public\n\
                 !!! alexa-samples/alexa-smarthome repository (validation_schemas/\n\
                 !!! alexa_smart_home_message_schema.json) and set ALEXA_SCHEMA_PATH.\n!!!!!!!!\n",
                path.display()
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg}(under CI=true this is a failure)");
            }
            eprintln!("{msg}");
            return None;
        }
    };
    let mut schema: Value = serde_json::from_str(&text).expect("the schema is not JSON");
    apply_corrections(&mut schema);
    Some(jsonschema::draft4::new(&schema).expect("the schema does not compile"))
});

/// The corrections NOTES.md names, each one justified where it is made.
fn apply_corrections(schema: &mut Value) {
    // NOTES.md: "displayCategories knows 34 values; newer documented ones (e.g. VACUUM_CLEANER,
    // AIR_CONDITIONER, AIR_PURIFIER) are rejected". The skill accepts exactly the documented
    // newer categories in `validate::NEWER_DISPLAY_CATEGORIES`; extend the schema's enums by those.
    let mut extended = 0;
    visit_mut(schema, &mut |node| {
        if let Some(categories) = node.get_mut("displayCategories")
            && let Some(items) = categories
                .pointer_mut("/items/enum")
                .and_then(Value::as_array_mut)
        {
            items.extend(
                validate::NEWER_DISPLAY_CATEGORIES
                    .iter()
                    .map(|c| Value::from(*c)),
            );
            extended += 1;
        }
    });
    assert!(
        extended >= 2,
        "the schema changed: displayCategories enums not found"
    );
}

fn visit_mut(node: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    f(node);
    match node {
        Value::Object(map) => map.values_mut().for_each(|v| visit_mut(v, f)),
        Value::Array(list) => list.iter_mut().for_each(|v| visit_mut(v, f)),
        _ => {}
    }
}

/// Asserts that a message the skill produced is one Alexa accepts.
pub fn assert_valid(message: &Value) {
    own_checks(message);
    // The schema has no DeleteReport (NOTES.md); `own_checks` checks its documented shape.
    if message["event"]["header"]["name"] == "DeleteReport" {
        return;
    }
    let Some(errors) = schema_errors(message) else {
        return;
    };
    assert!(
        errors.is_empty(),
        "message rejected by the official schema:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(message).unwrap()
    );
}

/// What the official schema (with the corrections above) objects to in a message; `None` when
/// the schema is missing (a warning was printed; under `CI=true` that fails instead).
pub fn schema_errors(message: &Value) -> Option<Vec<String>> {
    let validator = VALIDATOR.as_ref()?;
    Some(
        validator
            .iter_errors(message)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect(),
    )
}

/// What the schema does not check but Alexa's docs require (NOTES.md).
fn own_checks(message: &Value) {
    let header = &message["event"]["header"];
    let id = header["messageId"].as_str().expect("messageId");
    let uuid = uuid::Uuid::parse_str(id).expect("messageId is a UUID");
    assert_eq!(uuid.get_version_num(), 4, "messageId is a UUID v4");

    let name = header["name"].as_str().unwrap_or_default();
    if let Some(endpoints) = message["event"]["payload"]["endpoints"].as_array()
        && matches!(name, "Discover.Response" | "AddOrUpdateReport")
    {
        assert!(endpoints.len() <= validate::MAX_ENDPOINTS);
        for e in endpoints {
            check_endpoint(e);
        }
    }
    if name == "DeleteReport" {
        check_delete_report(message);
    }
}

fn check_endpoint(e: &Value) {
    let id = e["endpointId"].as_str().unwrap();
    let caps = e["capabilities"].as_array().expect("capabilities");
    assert!(
        caps.len() <= validate::MAX_CAPABILITIES,
        "{id}: too many capabilities"
    );
    assert!(
        caps.iter().any(|c| c["interface"] == "Alexa"),
        "{id}: no Alexa interface"
    );
    let mut interfaces: Vec<String> = caps
        .iter()
        .map(|c| format!("{}/{}", c["interface"], c["instance"]))
        .collect();
    let n = interfaces.len();
    interfaces.sort();
    interfaces.dedup();
    assert_eq!(n, interfaces.len(), "{id}: an interface is declared twice");
    if let Some(cookie) = e.get("cookie") {
        assert!(
            cookie.as_object().unwrap().values().all(Value::is_string),
            "{id}: cookie values are strings"
        );
        assert!(
            cookie.to_string().len() <= validate::MAX_COOKIE_BYTES,
            "{id}: cookie too large"
        );
    }
    if let Some(rel) = e.get("relationships") {
        let rel = rel.as_object().expect("relationships is an object");
        for (kind, members) in rel {
            assert!(
                matches!(kind.as_str(), "isClusterOf" | "isControlledBy"),
                "{id}: relationship {kind}"
            );
            for m in members.as_array().expect("relationship list") {
                assert!(
                    m["endpointId"].as_str().is_some_and(|s| !s.is_empty()),
                    "{id}: {kind} member id"
                );
                if kind == "isControlledBy" {
                    assert!(validate::endpoint_id(m["endpointId"].as_str().unwrap()).is_ok());
                }
            }
        }
    }
}

/// The schema has no DeleteReport: its shape from Amazon's docs.
fn check_delete_report(message: &Value) {
    let event = &message["event"];
    assert_eq!(event["header"]["namespace"], "Alexa.Discovery");
    assert_eq!(event["header"]["payloadVersion"], "3");
    let payload = event["payload"].as_object().expect("payload");
    assert_eq!(
        payload.len(),
        2,
        "DeleteReport payload has endpoints and scope only"
    );
    assert_eq!(payload["scope"]["type"], "BearerToken");
    assert!(
        payload["scope"]["token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let endpoints = payload["endpoints"].as_array().expect("endpoints");
    assert!(!endpoints.is_empty());
    for e in endpoints {
        let e = e.as_object().unwrap();
        assert_eq!(e.len(), 1, "DeleteReport endpoints carry endpointId only");
        assert!(validate::endpoint_id(e["endpointId"].as_str().unwrap()).is_ok());
    }
}
