//! Raw bytes as a directive: `Skill::handle` must never panic, and must always answer a
//! well-formed Alexa message (`event.header.namespace` and `name`; an `Alexa` ErrorResponse
//! carries a `payload.type` string).
//!
//! Bytes are decoded lossily: in the Lambda the skill only ever gets valid UTF-8 (the runtime
//! hands it a parsed JSON document), and lossy decoding lets every mutation reach the parser
//! instead of discarding the inputs that break UTF-8.
//!
//! The skill runs over an in-memory store seeded with `fixtures/example-account.json`, whose
//! token `access-token-from-skill` makes the seed directives of `corpus/directive` reach the
//! handlers, and with a grant for the example user, so that directives for unknown endpoints
//! take the ghost path (a DeleteReport). Login with Amazon is not configured (no client id),
//! so AcceptGrant fails before any request; the gateway is 127.0.0.1:9, a closed port, so a
//! ghost DeleteReport fails at once with "connection refused": no input waits on the network.
#![no_main]

use std::sync::LazyLock;

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::config::Config;
use alexa_smart_home::gateway::GatewayRegion;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::store::{GrantStore, NewGrant, TokenRecord};
use alexa_smart_home_local::memory::MemoryStore;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct Harness {
    runtime: tokio::runtime::Runtime,
    skill: Skill<MemoryStore>,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seed = Seed::from_json(include_str!("../../fixtures/example-account.json")).expect("seed");
    let store = MemoryStore::new();
    for t in &seed.tokens {
        store.add_token(
            &t.token,
            TokenRecord {
                user_id: t.user_id.clone(),
                expires_at: t.expires_at,
            },
        );
    }
    for d in seed.devices {
        store.put_device(d);
    }
    runtime
        .block_on(store.put_grant(NewGrant {
            user_id: "example-user".into(),
            access_token: Secret::new("Atza|fuzz"),
            refresh_token: Secret::new("Atzr|fuzz"),
            // Unix seconds, 2096: never refreshed.
            expires_at: 4_000_000_000,
            region: GatewayRegion::NorthAmerica,
            granted_at: alexa_smart_home::clock::Clock::system().now_ms(),
        }))
        .expect("grant");
    // Every outside address is a closed local port.
    let mut config = Config::local("http://127.0.0.1:9");
    config.lwa_token_url = "http://127.0.0.1:9/auth/o2/token".into();
    config.event_gateway_url = Some("http://127.0.0.1:9/v3/events".into());
    let skill =
        Skill::from_config(store, &config, alexa_smart_home::http::client().unwrap()).unwrap();
    Harness { runtime, skill }
});

fuzz_target!(|data: &[u8]| {
    let harness = &*HARNESS;
    let raw = String::from_utf8_lossy(data);
    let answer = harness.runtime.block_on(harness.skill.handle(&raw));
    let answer: Value = serde_json::from_str(answer.get()).expect("the answer is JSON");
    let header = &answer["event"]["header"];
    let namespace = header["namespace"]
        .as_str()
        .expect("event.header.namespace");
    let name = header["name"].as_str().expect("event.header.name");
    if namespace == "Alexa" && name == "ErrorResponse" {
        assert!(
            answer["event"]["payload"]["type"].is_string(),
            "ErrorResponse without payload.type: {answer}"
        );
    }
});
