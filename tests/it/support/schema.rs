//! Validation of every message the skill produces against the official Alexa Smart Home
//! JSON schema (draft-04), with only the corrections that `shared/alexa/NOTES.md` names, plus
//! checks of what the schema leaves out.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use alexa_smart_home::alexa::validate;
use serde_json::Value;
use sha2::{Digest, Sha256};

const SCHEMA_FILE: &str = "alexa_smart_home_message_schema.json";
/// The cache `make schema` (scripts/fetch-schema.sh) downloads into, relative to the repository.
const CACHE_DIR: &str = ".cache/alexa-schema";
/// SHA-256 of the pinned schema (shared/alexa/README.md; scripts/fetch-schema.sh checks the same).
const SCHEMA_SHA256: &str = "8a3794fdaff83a9687c564a11d2a273d7b32a8eb644f4eb4736f18e62c4fddda";

/// The schema as the tests use it; a missing or corrupt schema is an error that every test
/// touching the schema fails with (never a silent pass).
static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let bytes = load()?;
    let mut schema: Value = serde_json::from_slice(&bytes).expect("the schema is not JSON");
    apply_corrections(&mut schema);
    Ok(jsonschema::draft4::new(&schema).expect("the schema does not compile"))
});

/// The schema's bytes, from the first of: `ALEXA_SCHEMA_PATH` (only there when set),
/// `../shared/alexa/` beside the repository, the cache `make schema` fills (hash checked).
fn load() -> Result<Vec<u8>, String> {
    if let Some(path) = std::env::var_os("ALEXA_SCHEMA_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return std::fs::read(&path).map_err(|e| {
            format!(
                "ALEXA_SCHEMA_PATH is set to {}, which cannot be read ({e}); when it is set, \
                 no other place is looked at.\n{}",
                path.display(),
                how_to_provide()
            )
        });
    }
    let shared = shared_path();
    if let Some(bytes) = read_if_present(&shared)? {
        return Ok(bytes);
    }
    let cached = super::repo_path(&format!("{CACHE_DIR}/{SCHEMA_FILE}"));
    if let Some(bytes) = read_if_present(&cached)? {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if sha256 != SCHEMA_SHA256 {
            return Err(format!(
                "the cached schema {} is corrupt: SHA-256 {sha256}, expected \
                 {SCHEMA_SHA256}; `make schema` deletes it and fetches it again.",
                cached.display()
            ));
        }
        return Ok(bytes);
    }
    Err(format!(
        "the official Alexa message schema was found neither at {} nor at {}.\n{}",
        shared.display(),
        cached.display(),
        how_to_provide()
    ))
}

/// The file's bytes, `None` when there is no such file; any other error is one.
fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// `../shared/alexa/` beside the repository.
fn shared_path() -> PathBuf {
    super::repo_path(&format!("../shared/alexa/{SCHEMA_FILE}"))
}

fn how_to_provide() -> String {
    format!(
        "Every message the skill produces is validated against it: without it the tests fail. \
         Provide it in one of three ways:\n\
         - `make schema` downloads the pinned copy into {CACHE_DIR}/ (SHA-256 checked; \
         ALEXA_SCHEMA_URL overrides the URL, e.g. a file:// URL of a local copy);\n\
         - set ALEXA_SCHEMA_PATH to a copy of {SCHEMA_FILE};\n\
         - place the shared/ folder beside the repository ({}).",
        shared_path().display()
    )
}

/// The schema's validator; panics with how to get the schema when it is missing or corrupt.
pub fn validator() -> &'static jsonschema::Validator {
    match &*VALIDATOR {
        Ok(validator) => validator,
        Err(msg) => panic!("\n{msg}\n"),
    }
}

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

    // The schema has no `Alexa.PlaybackStateReporter` at all: neither the capability nor its
    // `playbackState` property, so a TV that reports whether it plays fails discovery and
    // every answer about it. Amazon documents the interface (its reference page, now a section
    // of Alexa.PlaybackController's): version "3", the one property `playbackState`, whose
    // value is `{"state": "PLAYING" | "PAUSED" | "STOPPED"}`. One alternative is added to each
    // list, closed (no other key, no other state) so that it lets through only what the docs
    // show. Should a newer schema know the interface, this fails and the correction goes.
    playback_state_reporter(schema);
}

const PLAYBACK_STATE_REPORTER: &str = "Alexa.PlaybackStateReporter";

fn playback_state_reporter(schema: &mut Value) {
    let capability = serde_json::json!({
        "type": "object",
        "required": ["type", "interface", "version", "properties"],
        "additionalProperties": false,
        "properties": {
            "type": {"enum": ["AlexaInterface"]},
            "interface": {"enum": [PLAYBACK_STATE_REPORTER]},
            "version": {"enum": ["3"]},
            "properties": {
                "type": "object",
                "required": ["supported", "proactivelyReported", "retrievable"],
                "additionalProperties": false,
                "properties": {
                    "supported": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "additionalProperties": false,
                            "properties": {"name": {"enum": ["playbackState"]}}
                        }
                    },
                    "proactivelyReported": {"type": "boolean"},
                    "retrievable": {"type": "boolean"}
                }
            }
        }
    });
    let property = serde_json::json!({
        "type": "object",
        "required": ["namespace", "name", "value", "timeOfSample", "uncertaintyInMilliseconds"],
        "additionalProperties": false,
        "properties": {
            "namespace": {"enum": [PLAYBACK_STATE_REPORTER]},
            "name": {"enum": ["playbackState"]},
            "value": {
                "type": "object",
                "required": ["state"],
                "additionalProperties": false,
                "properties": {"state": {"enum": ["PLAYING", "PAUSED", "STOPPED"]}}
            },
            "timeOfSample": {"$ref": "#/definitions/common/model.StatePropertyBase.TimeOfSample"},
            "uncertaintyInMilliseconds": {
                "$ref": "#/definitions/common/model.StatePropertyBase.UncertaintyInMilliseconds"
            }
        }
    });
    for (list, alternative) in [
        ("/definitions/endpoint.capabilities/items/anyOf", capability),
        ("/definitions/state.properties/items/anyOf", property),
    ] {
        let alternatives = schema
            .pointer_mut(list)
            .and_then(Value::as_array_mut)
            .unwrap_or_else(|| panic!("the schema changed: no {list}"));
        assert!(
            !alternatives
                .iter()
                .any(|a| a.to_string().contains(PLAYBACK_STATE_REPORTER)),
            "the schema knows {PLAYBACK_STATE_REPORTER} now: drop its correction"
        );
        alternatives.push(alternative);
    }
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
    let errors = errors(message);
    assert!(
        errors.is_empty(),
        "message rejected by the official schema:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(message).unwrap()
    );
}

/// What the official schema (with the corrections above) objects to in a message. Always
/// `Some`: a missing schema panics (see `validator`). The `Option` only keeps the callers in
/// `tests/properties.rs` unchanged.
pub fn schema_errors(message: &Value) -> Option<Vec<String>> {
    Some(errors(message))
}

fn errors(message: &Value) -> Vec<String> {
    validator()
        .iter_errors(message)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
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
    for c in caps {
        check_generic_controller(id, c);
    }
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

/// The directives each generic controller has: what its semantics may name.
fn directives_of(interface: &str) -> Option<&'static [&'static str]> {
    Some(match interface {
        "Alexa.RangeController" => &["SetRangeValue", "AdjustRangeValue"],
        "Alexa.ModeController" => &["SetMode", "AdjustMode"],
        "Alexa.ToggleController" => &["TurnOn", "TurnOff"],
        _ => return None,
    })
}

/// What the schema leaves out of a generic controller: an instance, semantics that name only
/// the interface's own directives and values it has, presets within the range.
fn check_generic_controller(id: &str, c: &Value) {
    let interface = c["interface"].as_str().unwrap_or_default();
    let Some(directives) = directives_of(interface) else {
        assert!(
            c.get("instance").is_none(),
            "{id}: {interface} has no instances"
        );
        return;
    };
    let instance = c["instance"].as_str().unwrap_or_default();
    assert!(!instance.is_empty(), "{id}: {interface} without instance");
    let config = &c["configuration"];
    let range = &config["supportedRange"];
    let (min, max) = (
        range["minimumValue"].as_f64(),
        range["maximumValue"].as_f64(),
    );
    let within = |v: &Value| match (v.as_f64(), min, max) {
        (Some(v), Some(min), Some(max)) => (min..=max).contains(&v),
        _ => false,
    };
    if interface == "Alexa.RangeController" {
        for preset in config["presets"].as_array().into_iter().flatten() {
            assert!(
                within(&preset["rangeValue"]),
                "{id}/{instance}: preset {preset} outside the range"
            );
        }
    }
    let mode_listed = |m: &Value| {
        config["supportedModes"]
            .as_array()
            .is_some_and(|modes| modes.iter().any(|x| x["value"] == *m))
    };
    let ordered = config["ordered"] == true;
    for mapping in c["semantics"]["actionMappings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = mapping["directive"]["name"].as_str().unwrap_or_default();
        assert!(
            directives.contains(&name),
            "{id}/{instance}: semantics name {name}"
        );
        assert!(
            name != "AdjustMode" || ordered,
            "{id}/{instance}: AdjustMode on unordered modes"
        );
        let payload = &mapping["directive"]["payload"];
        match name {
            "SetRangeValue" => {
                assert!(within(&payload["rangeValue"]), "{id}/{instance}: {payload}")
            }
            "SetMode" => assert!(mode_listed(&payload["mode"]), "{id}/{instance}: {payload}"),
            _ => {}
        }
    }
    for mapping in c["semantics"]["stateMappings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        match (interface, mapping["@type"].as_str()) {
            ("Alexa.RangeController", Some("StatesToValue")) => {
                assert!(within(&mapping["value"]), "{id}/{instance}: {mapping}")
            }
            ("Alexa.RangeController", Some("StatesToRange")) => {
                assert!(
                    within(&mapping["range"]["minimumValue"]),
                    "{id}/{instance}: {mapping}"
                );
                assert!(
                    within(&mapping["range"]["maximumValue"]),
                    "{id}/{instance}: {mapping}"
                );
            }
            ("Alexa.ModeController", Some("StatesToValue")) => {
                assert!(mode_listed(&mapping["value"]), "{id}/{instance}: {mapping}")
            }
            other => panic!("{id}/{instance}: state mapping {other:?}"),
        }
    }
}

/// Every property in a response's or report's `context` (and a ChangeReport's change) that has
/// an instance names a capability `endpoint` declares with that interface and instance, and
/// every property of a generic controller has one.
pub fn assert_instances_declared(message: &Value, endpoint: &Value) {
    let caps = endpoint["capabilities"].as_array().expect("capabilities");
    let change = message["event"]["payload"]["change"]["properties"].as_array();
    let context = message["context"]["properties"].as_array();
    for p in change
        .into_iter()
        .flatten()
        .chain(context.into_iter().flatten())
    {
        let namespace = p["namespace"].as_str().unwrap_or_default();
        match p.get("instance") {
            Some(instance) => assert!(
                caps.iter()
                    .any(|c| c["interface"] == namespace && c["instance"] == *instance),
                "{p} names no declared capability of {}",
                endpoint["endpointId"]
            ),
            None => assert!(
                directives_of(namespace).is_none(),
                "{p}: a generic controller's property without instance"
            ),
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
