//! `Alexa.Authorization` / `AcceptGrant` against the real local DynamoDB-compatible server and
//! a fake Login with Amazon (wiremock on 127.0.0.1).

use crate::support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use alexa_smart_home::alexa::{BearerToken, Secret};
use alexa_smart_home::gateway::GatewayRegion;
use alexa_smart_home::store::{GrantStore, TokenRecord, unix_seconds};
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::{logs, schema};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCEPT_GRANT: &str = "events/Authorization/Authorization.AcceptGrant.request.json";
const TOKEN_PATH: &str = "/auth/o2/token";
const CLIENT_ID: &str = "client-id";
const CLIENT_SECRET: &str = "Client-Secret-xyz";

/// The sample AcceptGrant directive with its grant code and grantee token replaced.
fn accept_grant_directive(code: &str, grantee_token: &str) -> String {
    let mut v: Value = serde_json::from_str(&support::read(ACCEPT_GRANT)).unwrap();
    v["directive"]["header"]["messageId"] = Value::from(uuid::Uuid::new_v4().to_string());
    v["directive"]["payload"]["grant"]["code"] = Value::from(code);
    v["directive"]["payload"]["grantee"]["token"] = Value::from(grantee_token);
    v.to_string()
}

/// Fresh tables, with Login with Amazon configured at `lwa_base` (e.g. a wiremock server).
async fn tables_with_lwa(lwa_base: &str) -> TestTables {
    let mut tables = TestTables::new().await;
    tables.config.lwa_token_url = format!("{lwa_base}{TOKEN_PATH}");
    tables.config.lwa_client_id = Some(CLIENT_ID.into());
    tables.config.lwa_client_secret = Some(Secret::new(CLIENT_SECRET));
    tables
}

/// Records an account-linking token of `user`, as the device cloud does when linking.
async fn link(tables: &TestTables, token: &str, user: &str, expires_at: Option<i64>) {
    let record = TokenRecord {
        user_id: user.into(),
        expires_at,
    };
    tables
        .store
        .put_token(&BearerToken::new(token), &record)
        .await
        .unwrap();
}

/// The skill's answer to `raw`, checked against the official schema.
async fn handle(tables: &TestTables, raw: &str) -> Value {
    let skill = support::skill(tables.store.clone(), &tables.config);
    let answer = support::json(&skill.handle(raw).await);
    schema::assert_valid(&answer);
    answer
}

/// LWA's answer to a successful code exchange.
fn lwa_tokens(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": 3600,
    }))
}

fn assert_accepted(answer: &Value) {
    let header = &answer["event"]["header"];
    assert_eq!(header["namespace"], "Alexa.Authorization", "{answer:#}");
    assert_eq!(header["name"], "AcceptGrant.Response", "{answer:#}");
    assert_eq!(header["payloadVersion"], "3");
    assert_eq!(answer["event"]["payload"], json!({}));
}

fn assert_accept_grant_failed(answer: &Value) {
    let header = &answer["event"]["header"];
    assert_eq!(header["namespace"], "Alexa.Authorization", "{answer:#}");
    assert_eq!(header["name"], "ErrorResponse", "{answer:#}");
    assert_eq!(answer["event"]["payload"]["type"], "ACCEPT_GRANT_FAILED");
    assert!(
        answer["event"]["payload"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "an ErrorResponse carries a message"
    );
}

/// A form-encoded body as name → value. The tests only send unreserved characters, so no
/// percent-decoding is needed; a `%` or `+` would mean the test's own values changed.
fn form(body: &[u8]) -> BTreeMap<String, String> {
    let body = std::str::from_utf8(body).expect("the form is UTF-8");
    assert!(
        !body.contains(['%', '+']),
        "unexpected encoding in {body:?}"
    );
    body.split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').expect("name=value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// A 127.0.0.1 address that nothing listens on.
fn nothing_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_grant_is_exchanged_at_lwa_and_stored_with_a_new_version_each_time() {
    // GIVEN a linked customer and an LWA that exchanges two codes for tokens
    let server = MockServer::start().await;
    for (code, access, refresh) in [
        (
            "Grant-Code-Secret-123",
            "Atza|First-Access-111",
            "Atzr|First-Refresh-111",
        ),
        (
            "Grant-Code-Secret-456",
            "Atza|Second-Access-222",
            "Atzr|Second-Refresh-222",
        ),
    ] {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .and(body_string_contains(format!("code={code}")))
            .respond_with(lwa_tokens(access, refresh))
            .expect(1)
            .mount(&server)
            .await;
    }
    let mut tables = tables_with_lwa(&server.uri()).await;
    // Not the default region, so that the stored one is seen to come from the configuration.
    tables.config.event_region = GatewayRegion::Europe;
    let user = format!("grant-user-{}", uuid::Uuid::new_v4().simple());
    link(&tables, "Grantee-Token-Secret-abc", &user, None).await;

    // WHEN Alexa sends AcceptGrant
    let before = unix_seconds(SystemTime::now());
    let answer = handle(
        &tables,
        &accept_grant_directive("Grant-Code-Secret-123", "Grantee-Token-Secret-abc"),
    )
    .await;
    let after = unix_seconds(SystemTime::now());

    // THEN the grant is accepted
    assert_accepted(&answer);
    // AND the tokens LWA issued are stored for the customer, in the configured region
    let grant = tables
        .store
        .grant(&user.as_str().into())
        .await
        .unwrap()
        .expect("a stored grant");
    assert_eq!(grant.user_id, user);
    assert_eq!(grant.access_token.expose(), "Atza|First-Access-111");
    assert_eq!(grant.refresh_token.expose(), "Atzr|First-Refresh-111");
    assert_eq!(grant.version, 1);
    assert_eq!(grant.region, GatewayRegion::Europe);
    assert!(
        (before + 3600..=after + 3600).contains(&grant.expires_at),
        "expires_at {} is not now + 3600 ({before}..={after})",
        grant.expires_at
    );
    // AND LWA was asked exactly as its documentation says
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), TOKEN_PATH);
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let expected: BTreeMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", "Grant-Code-Secret-123"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(form(&request.body), expected);

    // WHEN the customer enables the skill again (a second AcceptGrant)
    let answer = handle(
        &tables,
        &accept_grant_directive("Grant-Code-Secret-456", "Grantee-Token-Secret-abc"),
    )
    .await;

    // THEN the new tokens replace the old ones, one version up
    assert_accepted(&answer);
    let grant = tables
        .store
        .grant(&user.as_str().into())
        .await
        .unwrap()
        .expect("a stored grant");
    assert_eq!(grant.access_token.expose(), "Atza|Second-Access-222");
    assert_eq!(grant.refresh_token.expose(), "Atzr|Second-Refresh-222");
    assert_eq!(grant.version, 2);
    assert_eq!(grant.region, GatewayRegion::Europe);
    server.verify().await;
}

#[tokio::test]
async fn a_code_lwa_refuses_is_accept_grant_failed_and_nothing_is_stored() {
    // GIVEN a linked customer and an LWA that refuses the code
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "The request has an invalid grant parameter : code",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let tables = tables_with_lwa(&server.uri()).await;
    link(&tables, "Grantee-Token-Secret-def", "refused-user", None).await;

    // WHEN Alexa sends AcceptGrant
    let answer = handle(
        &tables,
        &accept_grant_directive("Grant-Code-Secret-789", "Grantee-Token-Secret-def"),
    )
    .await;

    // THEN Alexa hears ACCEPT_GRANT_FAILED, and no grant is stored
    assert_accept_grant_failed(&answer);
    assert!(
        tables
            .store
            .grant(&"refused-user".into())
            .await
            .unwrap()
            .is_none()
    );
    server.verify().await;
}

#[tokio::test]
async fn an_unreachable_lwa_is_accept_grant_failed() {
    // GIVEN a linked customer and an LWA address nothing listens on
    let tables = tables_with_lwa(&nothing_listening()).await;
    link(&tables, "Grantee-Token-Secret-ghi", "offline-user", None).await;

    // WHEN Alexa sends AcceptGrant
    let answer = handle(
        &tables,
        &accept_grant_directive("Grant-Code-Secret-012", "Grantee-Token-Secret-ghi"),
    )
    .await;

    // THEN Alexa hears ACCEPT_GRANT_FAILED, and no grant is stored
    assert_accept_grant_failed(&answer);
    assert!(
        tables
            .store
            .grant(&"offline-user".into())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_lwa_that_never_answers_is_given_up_before_alexa_gives_up() {
    // GIVEN an LWA that answers only after Alexa's 8 s
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            lwa_tokens("Atza|Late-Access-333", "Atzr|Late-Refresh-333")
                .set_delay(Duration::from_secs(20)),
        )
        .mount(&server)
        .await;
    let tables = tables_with_lwa(&server.uri()).await;
    link(&tables, "Grantee-Token-Secret-jkl", "slow-user", None).await;

    // WHEN Alexa sends AcceptGrant
    let answer = handle(
        &tables,
        &accept_grant_directive("Grant-Code-Secret-345", "Grantee-Token-Secret-jkl"),
    )
    .await;

    // THEN the skill gives up (its request timeout is shorter than Alexa's 8 s; without it the
    // late answer would have been a success) and answers ACCEPT_GRANT_FAILED
    assert!(alexa_smart_home::http::REQUEST_TIMEOUT < Duration::from_secs(8));
    assert_accept_grant_failed(&answer);
    assert!(
        tables
            .store
            .grant(&"slow-user".into())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_unknown_or_expired_grantee_is_accept_grant_failed_without_asking_lwa() {
    // GIVEN an LWA that would exchange any code, and a token that has expired
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(lwa_tokens(
            "Atza|Never-Access-444",
            "Atzr|Never-Refresh-444",
        ))
        .expect(0)
        .mount(&server)
        .await;
    let tables = tables_with_lwa(&server.uri()).await;
    link(
        &tables,
        "Expired-Grantee-Secret-mno",
        "expired-user",
        Some(1),
    )
    .await;

    for token in ["Unknown-Grantee-Secret-pqr", "Expired-Grantee-Secret-mno"] {
        // WHEN Alexa sends AcceptGrant with that grantee token
        let answer = handle(
            &tables,
            &accept_grant_directive("Grant-Code-Secret-678", token),
        )
        .await;

        // THEN Alexa hears ACCEPT_GRANT_FAILED (the only error type of Alexa.Authorization)
        assert_accept_grant_failed(&answer);
    }
    // AND the code was never sent to LWA, and nothing is stored
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(
        tables
            .store
            .grant(&"expired-user".into())
            .await
            .unwrap()
            .is_none()
    );
    server.verify().await;
}

#[tokio::test]
async fn tokens_without_a_refresh_token_are_accept_grant_failed() {
    // GIVEN an LWA whose answer has an access token only
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atza|Lonely-Access-555",
            "token_type": "bearer",
            "expires_in": 3600,
        })))
        .expect(1)
        .mount(&server)
        .await;
    let tables = tables_with_lwa(&server.uri()).await;
    link(&tables, "Grantee-Token-Secret-stu", "no-refresh-user", None).await;

    // WHEN Alexa sends AcceptGrant
    let answer = handle(
        &tables,
        &accept_grant_directive("Grant-Code-Secret-901", "Grantee-Token-Secret-stu"),
    )
    .await;

    // THEN the grant is refused rather than kept for an hour only
    assert_accept_grant_failed(&answer);
    assert!(
        tables
            .store
            .grant(&"no-refresh-user".into())
            .await
            .unwrap()
            .is_none()
    );
    server.verify().await;
}

#[tokio::test]
async fn no_grant_secret_appears_in_the_logs() {
    let captured = logs::capture();
    // GIVEN an LWA that exchanges one code, refuses another, and answers a third without a
    // refresh token
    let code_ok = "Log-Grant-Code-Ok-1a2b";
    let code_refused = "Log-Grant-Code-Refused-3c4d";
    let code_partial = "Log-Grant-Code-Partial-5e6f";
    let access = "Atza|Log-Access-Token-7g8h";
    let refresh = "Atzr|Log-Refresh-Token-9i0j";
    let partial_access = "Atza|Log-Partial-Access-1k2l";
    let grantee = "Log-Grantee-Token-3m4n";
    let unknown_grantee = "Log-Unknown-Grantee-5o6p";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains(code_ok))
        .respond_with(lwa_tokens(access, refresh))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains(code_refused))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "The request has an invalid grant parameter : code",
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains(code_partial))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": partial_access,
            "token_type": "bearer",
            "expires_in": 3600,
        })))
        .mount(&server)
        .await;
    let tables = tables_with_lwa(&server.uri()).await;
    let user = format!("log-user-{}", uuid::Uuid::new_v4().simple());
    link(&tables, grantee, &user, None).await;

    // WHEN Alexa sends AcceptGrant that succeeds, and ones that fail in every way
    assert_accepted(&handle(&tables, &accept_grant_directive(code_ok, grantee)).await);
    for (code, token) in [
        (code_refused, grantee),
        (code_partial, grantee),
        (code_ok, unknown_grantee),
    ] {
        assert_accept_grant_failed(&handle(&tables, &accept_grant_directive(code, token)).await);
    }
    let offline = tables_with_lwa(&nothing_listening()).await;
    link(&offline, grantee, &user, None).await;
    assert_accept_grant_failed(&handle(&offline, &accept_grant_directive(code_ok, grantee)).await);

    // THEN the logs show what happened, at DEBUG too
    let text = captured.text();
    assert!(text.contains("DEBUG"), "nothing captured at DEBUG");
    assert!(
        text.lines()
            .any(|l| l.contains("grant stored") && l.contains(&user)),
        "the stored grant was not logged"
    );
    assert!(text.contains("directive failed"), "no failure logged");
    // AND none of the secrets
    for secret in [
        code_ok,
        code_refused,
        code_partial,
        access,
        refresh,
        partial_access,
        grantee,
        unknown_grantee,
        CLIENT_SECRET,
    ] {
        // The `Atza|`/`Atzr|` prefixes are public; the rest is the secret.
        let secret = secret.rsplit('|').next().unwrap();
        assert!(
            !text.contains(secret),
            "a secret reached the logs:\n{}",
            text.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test]
async fn an_absurd_token_lifetime_from_lwa_is_capped_not_a_panic() {
    // GIVEN an LWA that claims its token lives for u64::MAX seconds
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atza|Forever-444", "refresh_token": "Atzr|Forever-444",
            "token_type": "bearer", "expires_in": u64::MAX,
        })))
        .mount(&server)
        .await;
    let tables = tables_with_lwa(&server.uri()).await;
    link(&tables, "Grantee-Token-Secret-mno", "forever-user", None).await;

    let answer = handle(
        &tables,
        &accept_grant_directive("Grant-Code-Secret-678", "Grantee-Token-Secret-mno"),
    )
    .await;

    // THEN the grant is stored with at most a day's lifetime, so it is refreshed in time
    assert_accepted(&answer);
    let grant = tables
        .store
        .grant(&"forever-user".into())
        .await
        .unwrap()
        .unwrap();
    assert!(grant.expires_at <= unix_seconds(SystemTime::now()) + 24 * 3600);
}
