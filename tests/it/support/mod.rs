//! Shared by the integration tests: the official schema, a local DynamoDB-compatible server
//! (and a throttling proxy in front of it), captured logs, and the sample directives in `events/`.
#![allow(dead_code)]

pub mod devices;
pub mod dynamo;
pub mod faults;
pub mod iot;
pub mod logs;
pub mod proactive;
pub mod schema;
pub mod throttle;

use std::path::PathBuf;

use alexa_smart_home::config::Config;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::Store;
use serde_json::Value;

/// The tests share one local server that serves one request at a time: the heavy ones (the
/// load tests, the certification runs) take turns, so that no test's requests queue behind
/// another's and none is answered late for it.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A file of `events/` or `fixtures/`, as text.
pub fn read(relative: &str) -> String {
    let path = repo_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A sample directive from `events/` with its bearer token replaced.
pub fn directive_with_token(relative: &str, token: &str) -> String {
    let mut v: Value = serde_json::from_str(&read(relative)).unwrap();
    let payload = &mut v["directive"]["payload"];
    if payload.get("scope").is_some() {
        payload["scope"]["token"] = Value::from(token);
    }
    if v["directive"].get("endpoint").is_some() {
        v["directive"]["endpoint"]["scope"]["token"] = Value::from(token);
    }
    v.to_string()
}

/// The sample directive `file` of `events/`, optionally aimed at another endpoint or with
/// another payload.
pub fn sample(file: &str, endpoint: Option<&str>, payload: Option<Value>) -> Value {
    let mut v: Value = serde_json::from_str(&read(file)).unwrap();
    if let Some(endpoint) = endpoint {
        v["directive"]["endpoint"]["endpointId"] = Value::from(endpoint);
    }
    if let Some(payload) = payload {
        v["directive"]["payload"] = payload;
    }
    v
}

/// Sends `directive` through a skill on `tables` and returns the answer, checked against the
/// official schema.
pub async fn send(tables: &dynamo::TestTables, directive: &Value) -> Value {
    let skill = skill(tables.store.clone(), &tables.config);
    let answer = json(&skill.handle(&directive.to_string()).await);
    schema::assert_valid(&answer);
    answer
}

/// `directive` `n` times at once through one shared skill on `tables`: the answers, each
/// checked against the schema.
pub async fn send_concurrently(
    tables: &dynamo::TestTables,
    directive: &Value,
    n: usize,
) -> Vec<Value> {
    let skill = std::sync::Arc::new(skill(tables.store.clone(), &tables.config));
    let raw = directive.to_string();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (skill, raw) = (skill.clone(), raw.clone());
        set.spawn(async move { json(&skill.handle(&raw).await) });
    }
    let answers = set.join_all().await;
    for a in &answers {
        schema::assert_valid(a);
    }
    answers
}

/// The skill as the Lambda builds it, on `store`, configured by `config`.
pub fn skill<S: Store>(store: S, config: &Config) -> Skill<S> {
    Skill::from_config(store, config, alexa_smart_home::http::client().unwrap()).unwrap()
}

pub fn json(raw: &serde_json::value::RawValue) -> Value {
    serde_json::from_str(raw.get()).expect("the skill answered with invalid JSON")
}
