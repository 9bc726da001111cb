//! No token ever reaches the logs, at any level up to DEBUG (the SDK's and HTTP stack's
//! logs included), whatever the directive does.

use crate::support;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::store::TokenRecord;
use serde_json::json;
use support::dynamo::TestTables;
use support::{directive_with_token, logs};

const DISCOVER: &str = "events/Discovery/Discovery.request.json";

#[tokio::test]
async fn no_token_appears_in_the_logs() {
    let captured = logs::capture();
    let tables = TestTables::example_account().await;
    let valid = "Valid-Secret-Token-7f3a9c";
    let expired = "Expired-Secret-Token-1b2c3d";
    let unknown = "Unknown-Secret-Token-9e8d7c";
    let misplaced = "Misplaced-Secret-Token-4a5b6c";
    let store = &tables.store;
    store
        .put_token(
            &BearerToken::new(valid),
            &TokenRecord {
                user_id: "example-user".into(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    store
        .put_token(
            &BearerToken::new(expired),
            &TokenRecord {
                user_id: "example-user".into(),
                expires_at: Some(1),
            },
        )
        .await
        .unwrap();

    let skill = support::skill(tables.store.clone(), &tables.config);
    let header = json!({"namespace": "Alexa.Discovery", "name": "Discover", "payloadVersion": "3", "messageId": "m"});
    let directives = [
        directive_with_token(DISCOVER, valid),
        directive_with_token(DISCOVER, expired),
        directive_with_token(DISCOVER, unknown),
        // A token where a scope object belongs, and in a scope of the wrong type.
        json!({"directive": {"header": header, "payload": {"scope": misplaced}}}).to_string(),
        json!({"directive": {"header": header, "payload": {"scope": {"type": misplaced, "token": misplaced}}}}).to_string(),
        json!({"directive": {"header": header, "payload": {"scope": {"type": "BearerToken", "token": [misplaced]}}}}).to_string(),
    ];
    for raw in &directives {
        let answer = support::json(&skill.handle(raw).await);
        assert!(answer["event"]["header"]["name"].is_string());
    }

    let text = captured.text();
    // The capture works: DEBUG lines of the code and of the SDK are there.
    assert!(text.contains("DEBUG"), "nothing captured at DEBUG");
    assert!(text.contains("devices read"));
    for secret in [valid, expired, unknown, misplaced] {
        assert!(
            !text.contains(secret),
            "a token reached the logs:\n{}",
            text.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
