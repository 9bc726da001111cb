//! The security review (docs/security.md), where a test can check it: what the tokens table holds, what
//! a revoked account-linking token or LWA grant leads to, and what the real skill binary logs
//! and refuses. (Who may invoke the function and what each role allows is checked on the
//! template by `make lint-template`.)

use crate::support;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::Duration;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::store::{DeviceStore, GrantStore, TokenHash, TokenRecord};
use alexa_smart_home_local::runtime_api::RuntimeApi;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::proactive::{Harness, accept_all, device, lwa_revokes, no_failures, user};
use support::schema;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DISCOVER: &str = "events/Discovery/Discovery.request.json";
const TURN_ON: &str = "events/PowerController/PowerController.TurnOn.request.json";
const REPORT_STATE: &str = "events/Alexa/Alexa.ReportState.request.json";
const ACCEPT_GRANT: &str = "events/Authorization/Authorization.AcceptGrant.request.json";
/// The token of the sample directives, issued to `example-user` by the example seed.
const SAMPLE_TOKEN: &str = "access-token-from-skill";

#[tokio::test]
async fn the_tokens_table_holds_only_hashes_of_tokens() {
    // GIVEN tokens issued the ways this project issues them: a seed file and put_token
    let tables = TestTables::new().await;
    let seed = Seed::from_json(&support::read("fixtures/example-account.json")).unwrap();
    seed.apply(&tables.store).await.unwrap();
    let issued = "Issued-Linking-Token-5d1e9a";
    let record = TokenRecord {
        user_id: "another-user".into(),
        expires_at: Some(2_000_000_000),
    };
    tables
        .store
        .put_token(&BearerToken::new(issued), &record)
        .await
        .unwrap();
    let raw: Vec<&str> = seed
        .tokens
        .iter()
        .map(|t| t.token.expose())
        .chain([issued])
        .collect();

    // WHEN the table is read as it is, by anyone who can read it
    let items = tables
        .store
        .client()
        .scan()
        .table_name(&tables.config.tokens_table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();

    // THEN each item is keyed by a token's SHA-256 and holds nothing else of the token
    let hashes: BTreeSet<String> = raw
        .iter()
        .map(|t| TokenHash::of(&BearerToken::new(*t)).as_str().to_owned())
        .collect();
    assert_eq!(items.len(), raw.len());
    let allowed = BTreeSet::from(["tokenHash", "userId", "expiresAt", "ttl"]);
    for item in &items {
        let names: BTreeSet<&str> = item.keys().map(String::as_str).collect();
        assert!(names.is_subset(&allowed), "{names:?}");
        let Some(AttributeValue::S(hash)) = item.get("tokenHash") else {
            panic!("no tokenHash: {item:?}")
        };
        assert!(
            hashes.contains(hash),
            "{hash} is not the hash of an issued token"
        );
        let text = format!("{item:?}");
        for token in &raw {
            assert!(!text.contains(token), "{token} stored: {text}");
        }
    }
}

#[tokio::test]
async fn a_revoked_account_linking_token_is_refused_from_the_next_directive_on() {
    // GIVEN the example account, linked with the sample directives' token, which works
    let tables = TestTables::example_account().await;
    let skill = support::skill(tables.store.clone(), &tables.config);
    let answer = support::json(&skill.handle(&support::read(DISCOVER)).await);
    assert_eq!(answer["event"]["header"]["name"], "Discover.Response");
    let (user, light_id) = ("example-user".into(), "living-room-light".into());
    let light = || tables.store.device(&user, &light_id);
    let before = light().await.unwrap().unwrap();

    // WHEN the device maker's OAuth server revokes it: it deletes the item of the token's hash
    let hash = TokenHash::of(&BearerToken::new(SAMPLE_TOKEN));
    tables
        .store
        .client()
        .delete_item()
        .table_name(&tables.config.tokens_table)
        .key("tokenHash", AttributeValue::S(hash.as_str().to_owned()))
        .send()
        .await
        .unwrap();

    // THEN the very next directives are INVALID_AUTHORIZATION_CREDENTIAL (the token is read
    // consistently and never cached), so Alexa asks the customer to link again; nothing changes
    for file in [DISCOVER, TURN_ON, REPORT_STATE] {
        let answer = support::json(&skill.handle(&support::read(file)).await);
        schema::assert_valid(&answer);
        assert_eq!(
            answer["event"]["payload"]["type"], "INVALID_AUTHORIZATION_CREDENTIAL",
            "{file}"
        );
    }
    assert_eq!(light().await.unwrap().unwrap(), before);
}

#[tokio::test]
async fn a_grant_lwa_says_is_revoked_is_deleted_and_nothing_is_sent_or_retried() {
    // GIVEN a customer whose access token expires within the refresh margin, and who has
    // disabled the skill: LWA answers the refresh with invalid_grant
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 60).await;
    lwa_revokes(&h.lwa).await;
    accept_all(&h.gateway).await;

    // WHEN one of their devices changes
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;

    // THEN the grant is deleted, nothing is sent, and the batch is not failed (nothing to retry)
    no_failures(&response);
    assert!(h.gateway_requests().await.is_empty());
    assert_eq!(h.lwa_requests().await.len(), 1);
    assert!(h.store().grant(&u).await.unwrap().is_none());

    // AND their later changes are skipped without asking LWA again
    h.store().put_device(&device(&u, "lamp-2")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert!(h.gateway_requests().await.is_empty());
    assert_eq!(h.lwa_requests().await.len(), 1);
}

/// Kills the function process when the test ends, however it ends.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn the_skill_binary_logs_no_secret_at_any_level_and_refuses_oversized_directives() {
    // GIVEN the skill binary started as Lambda starts it, asked to log everything (TRACE, JSON),
    // a linked customer, and Login with Amazon faked
    let linking = "Linking-Token-Secret-61c2";
    let code = "Grant-Code-Secret-0b7e";
    let (access, refresh) = ("Atza|Access-Secret-93f1", "Atzr|Refresh-Secret-2d4a");
    let client_secret = "Client-Secret-Secret-7a55";
    let tables = TestTables::new().await;
    let record = TokenRecord {
        user_id: "u-logs".into(),
        expires_at: None,
    };
    tables
        .store
        .put_token(&BearerToken::new(linking), &record)
        .await
        .unwrap();
    let lwa = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": 3600
        })))
        .mount(&lwa)
        .await;
    let log_path = std::env::temp_dir().join(format!("skill-{}.log", uuid::Uuid::new_v4()));
    let api = RuntimeApi::start().await.unwrap();
    let function = Function(
        api.command(env!("CARGO_BIN_EXE_skill"), "security-test")
            .envs(tables.lambda_env())
            .env("LWA_CLIENT_ID", "client-id")
            .env("LWA_CLIENT_SECRET", client_secret)
            .env("LWA_TOKEN_URL", format!("{}/auth/o2/token", lwa.uri()))
            .env("EVENT_GATEWAY_URL", "http://127.0.0.1:9/unused")
            .env("AWS_LAMBDA_LOG_LEVEL", "TRACE")
            .env("RUST_LOG", "trace")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .stdout(std::fs::File::create(&log_path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("the skill binary starts"),
    );

    // WHEN the customer enables the skill (AcceptGrant) and discovers
    let mut accept: Value = serde_json::from_str(&support::read(ACCEPT_GRANT)).unwrap();
    accept["directive"]["payload"]["grant"]["code"] = json!(code);
    accept["directive"]["payload"]["grantee"]["token"] = json!(linking);
    let answer = invoke(&api, accept.to_string()).await;
    assert_eq!(answer["event"]["header"]["name"], "AcceptGrant.Response");
    let discover = support::directive_with_token(DISCOVER, linking);
    let answer = invoke(&api, discover.clone()).await;
    assert_eq!(answer["event"]["header"]["name"], "Discover.Response");

    // AND the same Discover padded past the size limit with a field it would ignore: it is
    // INVALID_DIRECTIVE, not a Lambda error (whitespace would not do: the runtime drops it)
    let mut oversized: Value = serde_json::from_str(&discover).unwrap();
    oversized["directive"]["payload"]["pad"] = json!("p".repeat(100_000));
    let answer = invoke(&api, oversized.to_string()).await;
    assert_eq!(answer["event"]["payload"]["type"], "INVALID_DIRECTIVE");
    let message = answer["event"]["payload"]["message"].as_str().unwrap();
    assert!(message.contains("larger than"), "{message}");

    // THEN every secret went where it belongs (the grant is stored) and none into the log,
    // which has DEBUG lines: TRACE, where the runtime and the SDK log bodies, is compiled out
    let grant = tables.store.grant(&"u-logs".into()).await.unwrap().unwrap();
    assert_eq!(grant.access_token.expose(), access);
    drop(function);
    let text = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(
        text.contains("\"DEBUG\""),
        "nothing logged at DEBUG:\n{text}"
    );
    assert!(!text.contains("\"TRACE\""));
    for secret in [linking, code, access, refresh, client_secret] {
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} logged:\n{}", leaks.join("\n"));
    }
}

/// The function's answer to `event`: an answer, not a Lambda error, and valid.
async fn invoke(api: &RuntimeApi, event: String) -> Value {
    let answer = api.invoke(event, WAIT).await.unwrap();
    assert!(
        !answer.is_error,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    schema::assert_valid(&answer);
    answer
}
