//! Account linking with a maker's identity provider (`jwt` and `userinfo`), against the real
//! local DynamoDB-compatible server and a stand-in identity provider faked at the HTTP level
//! (wiremock on 127.0.0.1), with tokens signed in the test. Every answer is checked against
//! the official schema.

use crate::support;

use std::time::Duration;

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::config::linking::default_jwks_url;
use alexa_smart_home::deadline::Deadline;
use alexa_smart_home::linking::{JwksSource, JwtConfig, LinkingConfig, UserinfoConfig};
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::dynamo::DynamoStore;
use alexa_smart_home::store::{DeviceStore, GrantStore};
use alexa_smart_home_local::idp::{
    self, AUDIENCE, Failure, IdentityProvider, SigningKey, hmac_token, unsigned_token,
};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::{directive_with_token, schema};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DISCOVER: &str = "events/Discovery/Discovery.request.json";
const TURN_ON: &str = "events/PowerController/PowerController.TurnOn.request.json";
const REPORT_STATE: &str = "events/Alexa/Alexa.ReportState.request.json";
const ACCEPT_GRANT: &str = "events/Authorization/Authorization.AcceptGrant.request.json";
const USER: &str = "example-user";

/// How many devices the example account has: what a Discover of its customer finds.
fn example_devices() -> usize {
    alexa_smart_home::store::seed::Seed::from_json(&support::read("fixtures/example-account.json"))
        .unwrap()
        .devices
        .len()
}

/// The `jwt` settings for the stand-in `idp`.
fn jwt_config(idp: &IdentityProvider) -> JwtConfig {
    JwtConfig {
        issuer: idp.issuer(),
        audience: AUDIENCE.into(),
        algorithms: vec![Algorithm::RS256, Algorithm::ES256],
        user_claim: "sub".into(),
        required_scopes: Vec::new(),
        leeway: Duration::from_secs(30),
        key_set: JwksSource::Url(default_jwks_url(&idp.issuer())),
        refetch_interval: Duration::from_secs(600),
        timeout: Duration::from_millis(1500),
    }
}

/// The example account's tables, with account linking as `linking`.
async fn tables(linking: LinkingConfig) -> TestTables {
    let mut tables = TestTables::example_account().await;
    tables.config.linking = linking;
    tables
}

/// `directive` through `skill`, the answer checked against the schema.
async fn send(skill: &Skill<DynamoStore>, directive: &str) -> Value {
    let answer = support::json(&skill.handle(directive).await);
    schema::assert_valid(&answer);
    answer
}

fn error_type(answer: &Value) -> &str {
    answer["event"]["payload"]["type"].as_str().unwrap_or("")
}

fn name(answer: &Value) -> &str {
    answer["event"]["header"]["name"].as_str().unwrap_or("")
}

fn endpoint_ids(answer: &Value) -> Vec<String> {
    answer["event"]["payload"]["endpoints"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["endpointId"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The sample AcceptGrant with this grantee token and a fresh message id.
fn accept_grant(token: &str) -> String {
    let mut v: Value = serde_json::from_str(&support::read(ACCEPT_GRANT)).unwrap();
    v["directive"]["header"]["messageId"] = Value::from(uuid::Uuid::new_v4().to_string());
    v["directive"]["payload"]["grantee"]["token"] = Value::from(token);
    v.to_string()
}

/// A Login with Amazon that exchanges any code, expecting `calls` exchanges.
async fn lwa(calls: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atza|linked", "refresh_token": "Atzr|linked",
            "token_type": "bearer", "expires_in": 3600,
        })))
        .expect(calls)
        .mount(&server)
        .await;
    server
}

fn with_lwa(tables: &mut TestTables, lwa: &MockServer) {
    tables.config.lwa_token_url = format!("{}/auth/o2/token", lwa.uri());
    tables.config.lwa_client_id = Some("client".into());
    tables.config.lwa_client_secret = Some(Secret::new("secret"));
}

#[tokio::test]
async fn valid_rs256_and_es256_tokens_reach_their_customer_for_every_kind_of_directive() {
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        // GIVEN the example account, and a skill that verifies JWTs of the stand-in issuer
        let idp = IdentityProvider::start(alg).await;
        let lwa = lwa(1).await;
        let mut tables = tables(LinkingConfig::Jwt(jwt_config(&idp))).await;
        with_lwa(&mut tables, &lwa);
        let skill = support::skill(tables.store.clone(), &tables.config);
        let token = idp.access_token(USER);

        // WHEN Alexa discovers with the customer's JWT
        let answer = send(&skill, &directive_with_token(DISCOVER, &token)).await;
        // THEN it gets the customer's devices, the key set fetched once
        assert_eq!(name(&answer), "Discover.Response", "{alg:?}: {answer:#}");
        assert_eq!(endpoint_ids(&answer).len(), example_devices(), "{alg:?}");
        assert_eq!(idp.key_set_fetches(), 1);

        // AND a control directive and ReportState act on the customer's own devices
        let on = send(&skill, &directive_with_token(TURN_ON, &token)).await;
        assert_eq!(name(&on), "Response", "{alg:?}: {on:#}");
        let light = tables
            .store
            .device(&USER.into(), &"living-room-light".into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(light.state.power_on, Some(true));
        let state = send(&skill, &directive_with_token(REPORT_STATE, &token)).await;
        assert_eq!(name(&state), "StateReport", "{alg:?}: {state:#}");

        // AND AcceptGrant stores the grant for the customer the grantee token names
        let granted = send(&skill, &accept_grant(&token)).await;
        assert_eq!(
            name(&granted),
            "AcceptGrant.Response",
            "{alg:?}: {granted:#}"
        );
        let grant = tables
            .store
            .grant(&USER.into())
            .await
            .unwrap()
            .expect("a grant");
        assert_eq!(grant.access_token.expose(), "Atza|linked");

        // AND another customer's token sees none of it
        let other = idp.access_token("someone-else");
        let theirs = send(&skill, &directive_with_token(DISCOVER, &other)).await;
        assert_eq!(endpoint_ids(&theirs), Vec::<String>::new());
        let refused = send(&skill, &directive_with_token(TURN_ON, &other)).await;
        assert_eq!(error_type(&refused), "NO_SUCH_ENDPOINT");
        // AND the key set was fetched only the once
        assert_eq!(idp.key_set_fetches(), 1, "{alg:?}");
    }
}

#[tokio::test]
async fn a_cognito_access_token_is_matched_by_client_id_and_token_use() {
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let tables = tables(LinkingConfig::Jwt(jwt_config(&idp))).await;
    let skill = support::skill(tables.store.clone(), &tables.config);
    // Cognito's access tokens carry no `aud`: the app client is `client_id`.
    let mut claims = idp.claims(USER, 3600);
    let claims_map = claims.as_object_mut().unwrap();
    claims_map.remove("aud");
    claims_map.insert("client_id".into(), AUDIENCE.into());
    claims_map.insert("token_use".into(), "access".into());
    claims_map.insert("username".into(), "jane".into());
    let answer = send(&skill, &directive_with_token(DISCOVER, &idp.sign(&claims))).await;
    assert_eq!(endpoint_ids(&answer).len(), example_devices(), "{answer:#}");
}

/// Every way a token can be wrong, and the error type Alexa gets for it.
#[tokio::test]
async fn each_rejection_gets_its_error_type_and_changes_nothing() {
    // GIVEN a skill that verifies the stand-in's RS256 and ES256 tokens and wants `devices`
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let lwa = lwa(0).await;
    let mut config = jwt_config(&idp);
    config.required_scopes = vec!["devices".into()];
    let mut tables = tables(LinkingConfig::Jwt(config)).await;
    with_lwa(&mut tables, &lwa);
    let skill = support::skill(tables.store.clone(), &tables.config);
    let published = idp.signing_key();
    let claims = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = idp.claims(USER, 3600);
        f(c.as_object_mut().unwrap());
        c
    };
    let now = idp::now();
    let forger = SigningKey::generate(Algorithm::RS256);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            idp.sign(&claims(&|c| {
                c.insert("exp".into(), (now - 120).into());
            })),
            "EXPIRED_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "not yet valid",
            idp.sign(&claims(&|c| {
                c.insert("nbf".into(), (now + 600).into());
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "bad signature (another key, the published kid)",
            forger.sign_as(&published.kid, &idp.claims(USER, 3600)),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "wrong issuer",
            idp.sign(&claims(&|c| {
                c.insert("iss".into(), "https://evil.example".into());
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "no issuer",
            idp.sign(&claims(&|c| {
                c.remove("iss");
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "wrong audience",
            idp.sign(&claims(&|c| {
                c.insert("aud".into(), "another-app".into());
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "wrong client_id",
            idp.sign(&claims(&|c| {
                c.remove("aud");
                c.insert("client_id".into(), "another-app".into());
                c.insert("token_use".into(), "access".into());
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "a Cognito ID token",
            idp.sign(&claims(&|c| {
                c.insert("token_use".into(), "id".into());
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "missing scope",
            idp.sign(&claims(&|c| {
                c.insert("scope".into(), "openid profile".into());
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "expired and for another app: not worth a refresh",
            idp.sign(&claims(&|c| {
                c.insert("exp".into(), (now - 120).into());
                c.insert("aud".into(), "another-app".into());
            })),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "alg none",
            unsigned_token(&published.kid, &idp.claims(USER, 3600)),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "HS256 signed with the public key",
            hmac_token(
                &published.kid,
                published.public_json().as_bytes(),
                &idp.claims(USER, 3600),
            ),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "unknown kid, after a refetch",
            forger.sign(&idp.claims(USER, 3600)),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "garbage",
            "not-a-jwt".into(),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
        (
            "three dots",
            "a.b.c".into(),
            "INVALID_AUTHORIZATION_CREDENTIAL",
        ),
    ];
    for (case, token, expected) in &cases {
        // WHEN each is sent with a Discover, a TurnOn and an AcceptGrant
        let discover = send(&skill, &directive_with_token(DISCOVER, token)).await;
        assert_eq!(error_type(&discover), *expected, "{case}: {discover:#}");
        let on = send(&skill, &directive_with_token(TURN_ON, token)).await;
        assert_eq!(error_type(&on), *expected, "{case}: {on:#}");
        let grant = send(&skill, &accept_grant(token)).await;
        assert_eq!(error_type(&grant), "ACCEPT_GRANT_FAILED", "{case}");
    }
    // THEN nothing changed: the light is as seeded, no grant, LWA never asked (`lwa(0)`)
    let light = tables
        .store
        .device(&USER.into(), &"living-room-light".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(light.state.power_on, Some(false));
    assert!(tables.store.grant(&USER.into()).await.unwrap().is_none());
    // AND the key set was fetched once, and once more for the first unknown kid
    assert_eq!(idp.key_set_fetches(), 2);
}

#[tokio::test]
async fn a_key_added_after_the_first_fetch_is_accepted_after_exactly_one_refetch() {
    // GIVEN a skill that has fetched the key set
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let tables = tables(LinkingConfig::Jwt(jwt_config(&idp))).await;
    let skill = support::skill(tables.store.clone(), &tables.config);
    let first = send(
        &skill,
        &directive_with_token(DISCOVER, &idp.access_token(USER)),
    )
    .await;
    assert_eq!(name(&first), "Discover.Response");
    assert_eq!(idp.key_set_fetches(), 1);

    // WHEN the issuer rotates to a new (ES256) key and signs with it
    let rotated = idp.rotate(Algorithm::ES256);
    let token = idp.access_token(USER);
    assert!(jsonwebtoken::decode_header(&token).unwrap().kid == Some(rotated.kid));

    // THEN the token is accepted after one refetch, and the next needs none
    for _ in 0..3 {
        let answer = send(&skill, &directive_with_token(DISCOVER, &token)).await;
        assert_eq!(endpoint_ids(&answer).len(), example_devices(), "{answer:#}");
    }
    assert_eq!(idp.key_set_fetches(), 2);
    // AND a token of the old key still is
    let old = idp.signing_key();
    assert_ne!(old.kid, "", "the stand-in kept its keys");
}

#[tokio::test]
async fn a_thousand_made_up_kids_cause_at_most_one_fetch_per_interval() {
    // GIVEN a skill with a 2 s refetch interval, its key set fetched
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let mut config = jwt_config(&idp);
    config.refetch_interval = Duration::from_secs(2);
    let tables = tables(LinkingConfig::Jwt(config)).await;
    let skill = std::sync::Arc::new(support::skill(tables.store.clone(), &tables.config));
    let valid = idp.access_token(USER);
    send(&skill, &directive_with_token(DISCOVER, &valid)).await;
    assert_eq!(idp.key_set_fetches(), 1);

    // WHEN 1,000 directives arrive, 8 at a time, each with a made-up kid
    let forger = SigningKey::generate(Algorithm::RS256);
    let claims = idp.claims(USER, 3600);
    let started = tokio::time::Instant::now();
    let mut tokens: Vec<String> = (0..1000)
        .map(|i| forger.sign_as(&format!("made-up-{i}"), &claims))
        .collect();
    while !tokens.is_empty() {
        let mut set = tokio::task::JoinSet::new();
        for token in tokens.drain(..tokens.len().min(8)) {
            let skill = skill.clone();
            set.spawn(async move {
                support::json(&skill.handle(&directive_with_token(DISCOVER, &token)).await)
            });
        }
        for answer in set.join_all().await {
            schema::assert_valid(&answer);
            assert_eq!(error_type(&answer), "INVALID_AUTHORIZATION_CREDENTIAL");
        }
    }
    let intervals = started.elapsed().as_secs() / 2 + 1;

    // THEN at most one refetch per interval was made, and valid tokens still work
    let refetches = idp.key_set_fetches() - 1;
    assert!(
        refetches as u64 <= intervals,
        "{refetches} refetches in {intervals} intervals"
    );
    let answer = send(&skill, &directive_with_token(DISCOVER, &valid)).await;
    assert_eq!(endpoint_ids(&answer).len(), example_devices());
    println!(
        "1,000 made-up kids: {refetches} refetch(es) in {:?}",
        started.elapsed()
    );
}

/// A 127.0.0.1 address that nothing listens on.
fn nothing_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The identity provider's outages: unreachable, slow, 5xx, garbage.
fn outages() -> Vec<(&'static str, Failure)> {
    vec![
        ("unreachable", Failure::None),
        ("slow", Failure::Slow(Duration::from_secs(4))),
        ("503", Failure::Status(503)),
        ("garbage", Failure::Garbage),
    ]
}

#[tokio::test]
async fn a_key_set_outage_is_an_internal_error_never_a_credential_error_and_writes_nothing() {
    for (case, failure) in outages() {
        // GIVEN a key set that cannot be had
        let idp = IdentityProvider::start(Algorithm::RS256).await;
        let mut config = jwt_config(&idp);
        if case == "unreachable" {
            config.key_set = JwksSource::Url(format!("{}/jwks.json", nothing_listening()));
        }
        idp.fail(failure);
        let lwa = lwa(0).await;
        let mut tables = tables(LinkingConfig::Jwt(config)).await;
        with_lwa(&mut tables, &lwa);
        let skill = support::skill(tables.store.clone(), &tables.config);
        let token = idp.access_token(USER);

        // WHEN a valid token arrives with a Discover, a TurnOn and an AcceptGrant
        let started = std::time::Instant::now();
        let discover = send(&skill, &directive_with_token(DISCOVER, &token)).await;
        let took = started.elapsed();
        // Past the retry pause after a failed fetch, so that each asks again.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let on = send(&skill, &directive_with_token(TURN_ON, &token)).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let grant = send(&skill, &accept_grant(&token)).await;

        // THEN each is an internal error, answered within the provider timeout
        assert_eq!(
            error_type(&discover),
            "INTERNAL_ERROR",
            "{case}: {discover:#}"
        );
        assert_eq!(error_type(&on), "INTERNAL_ERROR", "{case}: {on:#}");
        assert_eq!(error_type(&grant), "ACCEPT_GRANT_FAILED", "{case}");
        assert!(took < Duration::from_secs(3), "{case}: {took:?}");
        // AND nothing was written
        let light = tables
            .store
            .device(&USER.into(), &"living-room-light".into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(light.state.power_on, Some(false), "{case}");
        assert!(
            tables.store.grant(&USER.into()).await.unwrap().is_none(),
            "{case}"
        );

        // AND once the provider is back, the same token works
        idp.fail(Failure::None);
        if case != "unreachable" {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let answer = send(&skill, &directive_with_token(DISCOVER, &token)).await;
            assert_eq!(
                endpoint_ids(&answer).len(),
                example_devices(),
                "{case}: {answer:#}"
            );
        }
    }
}

#[tokio::test]
async fn a_failed_refetch_keeps_the_keys_held_and_is_an_outage_for_the_new_kid() {
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let tables = tables(LinkingConfig::Jwt(jwt_config(&idp))).await;
    let skill = support::skill(tables.store.clone(), &tables.config);
    let old = idp.access_token(USER);
    send(&skill, &directive_with_token(DISCOVER, &old)).await;

    // WHEN the issuer rotates while its key set endpoint fails
    idp.rotate(Algorithm::RS256);
    idp.fail(Failure::Status(500));
    let new = idp.access_token(USER);
    let answer = send(&skill, &directive_with_token(DISCOVER, &new)).await;
    // THEN the new kid is an outage, not a bad token, even within the refetch interval
    assert_eq!(error_type(&answer), "INTERNAL_ERROR", "{answer:#}");
    let again = send(&skill, &directive_with_token(DISCOVER, &new)).await;
    assert_eq!(error_type(&again), "INTERNAL_ERROR", "{again:#}");
    assert_eq!(
        idp.key_set_fetches(),
        2,
        "one refetch per interval, failed or not"
    );
    // AND tokens of the keys held still work
    let held = send(&skill, &directive_with_token(DISCOVER, &old)).await;
    assert_eq!(endpoint_ids(&held).len(), example_devices());
}

#[tokio::test]
async fn a_key_set_in_the_configuration_needs_no_fetch() {
    let idp = IdentityProvider::start(Algorithm::ES256).await;
    let mut config = jwt_config(&idp);
    let set = json!({"keys": [idp.signing_key().jwk()]});
    config.key_set = JwksSource::Inline(set.to_string());
    let tables = tables(LinkingConfig::Jwt(config)).await;
    let skill = support::skill(tables.store.clone(), &tables.config);
    let answer = send(
        &skill,
        &directive_with_token(DISCOVER, &idp.access_token(USER)),
    )
    .await;
    assert_eq!(endpoint_ids(&answer).len(), example_devices());
    // A rotated key is unknown until a redeploy: no fetch is ever made.
    idp.rotate(Algorithm::ES256);
    let rotated = send(
        &skill,
        &directive_with_token(DISCOVER, &idp.access_token(USER)),
    )
    .await;
    assert_eq!(error_type(&rotated), "INVALID_AUTHORIZATION_CREDENTIAL");
    assert_eq!(idp.key_set_fetches(), 0);
}

/// The `userinfo` settings for the stand-in `idp`.
fn userinfo_config(idp: &IdentityProvider, ttl: Duration) -> UserinfoConfig {
    UserinfoConfig {
        url: idp.userinfo_url(),
        user_field: "sub".into(),
        cache_ttl: ttl,
        cache_entries: 100,
        timeout: Duration::from_millis(1500),
    }
}

#[tokio::test]
async fn an_opaque_token_reaches_its_customer_through_userinfo_for_every_kind_of_directive() {
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let lwa = lwa(1).await;
    let config = userinfo_config(&idp, Duration::from_secs(60));
    let mut tables = tables(LinkingConfig::Userinfo(config)).await;
    with_lwa(&mut tables, &lwa);
    let skill = support::skill(tables.store.clone(), &tables.config);
    let token = idp.opaque_token(USER);

    let discover = send(&skill, &directive_with_token(DISCOVER, &token)).await;
    assert_eq!(
        endpoint_ids(&discover).len(),
        example_devices(),
        "{discover:#}"
    );
    let on = send(&skill, &directive_with_token(TURN_ON, &token)).await;
    assert_eq!(name(&on), "Response", "{on:#}");
    let state = send(&skill, &directive_with_token(REPORT_STATE, &token)).await;
    assert_eq!(name(&state), "StateReport");
    let grant = send(&skill, &accept_grant(&token)).await;
    assert_eq!(name(&grant), "AcceptGrant.Response");
    assert!(tables.store.grant(&USER.into()).await.unwrap().is_some());
    // One call served all four.
    assert_eq!(idp.userinfo_calls(), 1);

    // A token the provider does not know is not valid.
    let unknown = send(&skill, &directive_with_token(DISCOVER, "opaque-unknown")).await;
    assert_eq!(error_type(&unknown), "INVALID_AUTHORIZATION_CREDENTIAL");
}

#[tokio::test]
async fn the_userinfo_cache_makes_one_call_for_a_burst_and_expires() {
    // GIVEN a skill that keeps userinfo answers for 1 s
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let tables = tables(LinkingConfig::Userinfo(userinfo_config(
        &idp,
        Duration::from_secs(1),
    )))
    .await;
    let token = idp.opaque_token(USER);
    let discover = directive_with_token(DISCOVER, &token);

    // WHEN a burst of 20 directives arrives at once
    let skill = std::sync::Arc::new(support::skill(tables.store.clone(), &tables.config));
    let before = idp.userinfo_calls();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (skill, raw) = (skill.clone(), discover.clone());
        set.spawn(async move { support::json(&skill.handle(&raw).await) });
    }
    for answer in set.join_all().await {
        assert_eq!(endpoint_ids(&answer).len(), example_devices());
    }
    // THEN the provider was asked once
    assert_eq!(idp.userinfo_calls() - before, 1);

    // WHEN a token is revoked right after it was checked: it works until the cached answer
    // expires, then not
    let token = idp.opaque_token(USER);
    let discover = directive_with_token(DISCOVER, &token);
    let checked = std::time::Instant::now();
    send(&skill, &discover).await;
    idp.revoke(&token);
    let cached = send(&skill, &discover).await;
    assert!(
        checked.elapsed() < Duration::from_secs(1),
        "the test was too slow to tell"
    );
    assert_eq!(endpoint_ids(&cached).len(), example_devices());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let revoked = send(&skill, &discover).await;
    assert_eq!(error_type(&revoked), "INVALID_AUTHORIZATION_CREDENTIAL");
    assert_eq!(idp.userinfo_calls() - before, 3);
}

#[tokio::test]
async fn a_userinfo_outage_is_an_internal_error_never_a_credential_error() {
    for (case, failure) in outages() {
        let idp = IdentityProvider::start(Algorithm::RS256).await;
        let mut config = userinfo_config(&idp, Duration::from_secs(60));
        if case == "unreachable" {
            config.url = format!("{}/userinfo", nothing_listening());
        }
        idp.fail(failure);
        let lwa = lwa(0).await;
        let mut tables = tables(LinkingConfig::Userinfo(config)).await;
        with_lwa(&mut tables, &lwa);
        let skill = support::skill(tables.store.clone(), &tables.config);
        let token = idp.opaque_token(USER);
        let started = std::time::Instant::now();
        let discover = send(&skill, &directive_with_token(DISCOVER, &token)).await;
        assert!(started.elapsed() < Duration::from_secs(3), "{case}");
        let on = send(&skill, &directive_with_token(TURN_ON, &token)).await;
        let grant = send(&skill, &accept_grant(&token)).await;
        assert_eq!(
            error_type(&discover),
            "INTERNAL_ERROR",
            "{case}: {discover:#}"
        );
        assert_eq!(error_type(&on), "INTERNAL_ERROR", "{case}");
        assert_eq!(error_type(&grant), "ACCEPT_GRANT_FAILED", "{case}");
        let light = tables
            .store
            .device(&USER.into(), &"living-room-light".into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(light.state.power_on, Some(false), "{case}");
        assert!(
            tables.store.grant(&USER.into()).await.unwrap().is_none(),
            "{case}"
        );
    }
}

#[tokio::test]
async fn login_with_amazon_as_the_identity_provider() {
    // LWA's profile endpoint answers `user_id`, and 400 invalid_token for a bad token.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/profile"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer Atza|good",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user_id": USER, "name": "Jane", "email": "jane@example.com"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/profile"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer Atza|expired",
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_token", "error_description": "The access token has expired"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/profile"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_token", "error_description": "The request has an invalid parameter : access_token"
        })))
        .mount(&server)
        .await;
    let config = UserinfoConfig {
        url: format!("{}/user/profile", server.uri()),
        user_field: "user_id".into(),
        cache_ttl: Duration::from_secs(60),
        cache_entries: 10,
        timeout: Duration::from_secs(1),
    };
    let tables = tables(LinkingConfig::Userinfo(config)).await;
    let skill = support::skill(tables.store.clone(), &tables.config);
    let good = send(&skill, &directive_with_token(DISCOVER, "Atza|good")).await;
    assert_eq!(endpoint_ids(&good).len(), example_devices());
    let expired = send(&skill, &directive_with_token(DISCOVER, "Atza|expired")).await;
    assert_eq!(error_type(&expired), "EXPIRED_AUTHORIZATION_CREDENTIAL");
    let bad = send(&skill, &directive_with_token(DISCOVER, "Atza|bad")).await;
    assert_eq!(error_type(&bad), "INVALID_AUTHORIZATION_CREDENTIAL");
}

#[tokio::test]
async fn an_out_of_time_directive_does_not_wait_for_the_identity_provider() {
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    idp.fail(Failure::Slow(Duration::from_secs(5)));
    let tables = tables(LinkingConfig::Jwt(jwt_config(&idp))).await;
    let skill = support::skill(tables.store.clone(), &tables.config);
    let started = std::time::Instant::now();
    let answer = support::json(
        &skill
            .handle_until(
                &directive_with_token(DISCOVER, &idp.access_token(USER)),
                Deadline::after(Duration::from_millis(600)),
            )
            .await,
    );
    schema::assert_valid(&answer);
    assert_eq!(error_type(&answer), "INTERNAL_ERROR");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_key_set_in_the_configuration_without_a_usable_key_fails_the_cold_start() {
    let idp = IdentityProvider::start(Algorithm::RS256).await;
    let mut config = jwt_config(&idp);
    // Only an HMAC key: a published set's "secret" is no key at all.
    config.key_set =
        JwksSource::Inline(r#"{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}"#.into());
    let tables = tables(LinkingConfig::Jwt(config)).await;
    let refused = Skill::from_config(
        tables.store.clone(),
        &tables.config,
        alexa_smart_home::http::client().unwrap(),
    )
    .unwrap_err();
    assert!(refused.to_string().contains("JWKS_JSON"), "{refused}");
}
