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

/// The identity-provider paths: JWTs (valid, expired, forged), the key set, opaque tokens and
/// what userinfo answers never reach the logs, at DEBUG.
#[tokio::test]
async fn no_token_key_or_userinfo_answer_appears_in_the_logs() {
    use alexa_smart_home::config::linking::default_jwks_url;
    use alexa_smart_home::linking::{JwksSource, JwtConfig, LinkingConfig, UserinfoConfig};
    use alexa_smart_home_local::idp::{AUDIENCE, IdentityProvider, SigningKey};
    use jsonwebtoken::Algorithm;
    use std::time::Duration;

    let captured = logs::capture();
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let mut tables = TestTables::example_account().await;
    tables.config.linking = LinkingConfig::Jwt(JwtConfig {
        issuer: idp.issuer(),
        audience: AUDIENCE.into(),
        algorithms: vec![Algorithm::RS256],
        user_claim: "sub".into(),
        required_scopes: Vec::new(),
        leeway: Duration::from_secs(30),
        key_set: JwksSource::Url(default_jwks_url(&idp.issuer())),
        refetch_interval: Duration::from_secs(60),
        timeout: Duration::from_secs(2),
    });
    let jwt_skill = support::skill(tables.store.clone(), &tables.config);
    let valid = idp.access_token("example-user");
    let mut expired_claims = idp.claims("example-user", 0);
    expired_claims["exp"] = json!(1);
    let expired = idp.sign(&expired_claims);
    let forged = SigningKey::generate(Algorithm::RS256).sign(&idp.claims("example-user", 60));
    for token in [&valid, &expired, &forged] {
        let answer = support::json(
            &jwt_skill
                .handle(&directive_with_token(DISCOVER, token))
                .await,
        );
        assert!(answer["event"]["header"]["name"].is_string());
    }

    tables.config.linking = LinkingConfig::Userinfo(UserinfoConfig {
        url: idp.userinfo_url(),
        user_field: "sub".into(),
        cache_ttl: Duration::from_secs(60),
        cache_entries: 10,
        timeout: Duration::from_secs(2),
    });
    let userinfo_skill = support::skill(tables.store.clone(), &tables.config);
    let opaque = idp.opaque_token("example-user");
    for token in [opaque.as_str(), "Opaque-Unknown-Secret-5d6e"] {
        let raw = directive_with_token(DISCOVER, token);
        let answer = support::json(&userinfo_skill.handle(&raw).await);
        assert!(answer["event"]["header"]["name"].is_string());
    }

    let text = captured.text();
    assert!(text.contains("key set fetched"), "the capture works");
    let modulus = {
        let jwk: serde_json::Value =
            serde_json::from_str(&idp.signing_key().public_json()).unwrap();
        jwk["n"].as_str().unwrap()[..40].to_owned()
    };
    for secret in [
        valid.as_str(),
        expired.as_str(),
        forged.as_str(),
        valid.rsplit('.').next().unwrap(),
        modulus.as_str(),
        opaque.as_str(),
        "Opaque-Unknown-Secret-5d6e",
        // What userinfo answered besides the customer id.
        "example-user@example.com",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} reached the logs:\n{}",
            text.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
