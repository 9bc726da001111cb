//! The embedded-metric lines the real Lambda binaries write to their logs (stdout), read back as
//! CloudWatch would: every document well formed, every metric one the template's alarms and
//! dashboard know with its unit and dimensions, the expected figures present, and no token,
//! secret, customer or endpoint id anywhere in them.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::gateway::GatewayRegion;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::store::{GrantStore, NewGrant, unix_seconds};
use alexa_smart_home_local::runtime_api::RuntimeApi;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NAMESPACE: &str = "Test/AlexaSmartHome";
const WAIT: Duration = Duration::from_secs(30);
const LWA_SECRET: &str = "Lwa-Client-Secret-metrics-test";
const ACCESS: &str = "Atza|metrics-test-access";
const REFRESH: &str = "Atzr|metrics-test-refresh";
const FRESH: &str = "Atza|metrics-test-fresh";

/// Every metric, its unit, and the dimensions it may carry (src/metrics.rs; template.yaml's
/// alarms and dashboard rely on the same).
fn catalogue() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("Directives", &["Namespace", "Name", "Outcome"][..]),
        ("DirectiveInternalErrors", &[][..]),
        ("DiscoveredEndpoints", &[][..]),
        ("DiscoveryDroppedDevices", &[][..]),
        ("GatewayEvents", &["Event", "Status"][..]),
        ("GatewayResponses", &["Class"][..]),
        ("GatewayResends", &[][..]),
        ("LwaRefreshes", &["Outcome"][..]),
        ("StreamBatchItemFailures", &[][..]),
        ("Reconciliations", &["Outcome"][..]),
        ("ReconciledEndpoints", &["Change"][..]),
        ("DeadLetterBatches", &["Outcome"][..]),
        ("IdentityProviderUnavailable", &["Mode", "Reason"][..]),
        ("KeySetFetches", &["Outcome"][..]),
        ("PinsRefused", &["Reason"][..]),
    ])
}

/// Runs a Lambda binary, the invocations given, and returns what it wrote to stdout.
struct Function(Child);

impl Function {
    fn start(api: &RuntimeApi, binary: &str, tables: &TestTables, env: &[(&str, String)]) -> Self {
        let mut command = api.command(binary, "metrics-test");
        command
            .envs(tables.lambda_env())
            .env("METRICS_NAMESPACE", NAMESPACE)
            // INFO logs too: whatever they say, no metric line may carry a secret.
            .env("AWS_LAMBDA_LOG_LEVEL", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        Self(command.spawn().expect("the Lambda binary starts"))
    }

    /// Stops the process and returns its stdout.
    fn output(mut self) -> String {
        let _ = self.0.kill();
        let mut out = String::new();
        if let Some(mut stdout) = self.0.stdout.take() {
            stdout.read_to_string(&mut out).unwrap();
        }
        let _ = self.0.wait();
        out
    }
}

/// The embedded-metric documents among the log lines, each checked against the EMF
/// specification and the catalogue: (metric name, its dimensions, its value).
fn metrics(log: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let catalogue = catalogue();
    let mut found = Vec::new();
    for line in log.lines() {
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(aws) = doc.get("_aws") else {
            continue;
        };
        assert!(aws["Timestamp"].is_u64(), "{line}");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1, "{line}");
        let directive = &directives[0];
        assert_eq!(directive["Namespace"], NAMESPACE, "{line}");
        let dimension_sets = directive["Dimensions"].as_array().unwrap();
        assert_eq!(dimension_sets.len(), 1, "{line}");
        let names: BTreeSet<&str> = dimension_sets[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let dimensions: BTreeMap<String, String> = names
            .iter()
            .map(|n| {
                let value = doc[*n].as_str().unwrap_or_else(|| panic!("{n} in {line}"));
                (n.to_string(), value.to_owned())
            })
            .collect();
        // The level Lambda's log filter reads; the configured one.
        assert_eq!(doc["level"], "INFO", "{line}");
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            let allowed = catalogue
                .get(name)
                .unwrap_or_else(|| panic!("unknown metric {name}: {line}"));
            assert_eq!(metric["Unit"], "Count", "{line}");
            let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
            assert_eq!(names, allowed, "dimensions of {name}: {line}");
            let value = doc[name].as_f64().unwrap_or_else(|| panic!("{line}"));
            found.push((name.to_owned(), dimensions.clone(), value));
        }
    }
    found
}

fn total(
    found: &[(String, BTreeMap<String, String>, f64)],
    name: &str,
    dims: &[(&str, &str)],
) -> f64 {
    found
        .iter()
        .filter(|(n, d, _)| {
            n == name
                && dims
                    .iter()
                    .all(|(k, v)| d.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[tokio::test]
async fn the_lambdas_write_embedded_metrics_without_secrets_or_customer_ids() {
    let tables = TestTables::new().await;
    let seed = Seed::from_json(&support::read("fixtures/example-account.json")).unwrap();
    seed.apply(&tables.store).await.unwrap();
    let user = seed.devices[0].definition.user_id.clone();
    // A grant about to expire: the reconciliation refreshes it first.
    tables
        .store
        .put_grant(NewGrant {
            user_id: user.clone(),
            access_token: Secret::new(ACCESS),
            refresh_token: Secret::new(REFRESH),
            expires_at: unix_seconds(SystemTime::now()) + 10,
            region: GatewayRegion::NorthAmerica,
            granted_at: alexa_smart_home::clock::Clock::system().now_ms(),
        })
        .await
        .unwrap();
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/events"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&gateway)
        .await;
    let lwa = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": FRESH, "refresh_token": REFRESH, "token_type": "bearer",
            "expires_in": 3600,
        })))
        .mount(&lwa)
        .await;
    let env = [
        ("EVENT_GATEWAY_URL", format!("{}/v3/events", gateway.uri())),
        ("LWA_TOKEN_URL", format!("{}/auth/o2/token", lwa.uri())),
        ("LWA_CLIENT_ID", "metrics-client".to_owned()),
        ("LWA_CLIENT_SECRET", LWA_SECRET.to_owned()),
    ];

    // WHEN the skill answers a Discover, a TurnOn, a malformed directive and an unknown token
    let api = RuntimeApi::start().await.unwrap();
    let skill = Function::start(&api, env!("CARGO_BIN_EXE_skill"), &tables, &env);
    let discover = support::read("events/Discovery/Discovery.request.json");
    let turn_on = support::read("events/PowerController/PowerController.TurnOn.request.json");
    let unknown = turn_on.replace("access-token-from-skill", "Unknown-Token-Secret-123");
    // AND, the alarm armed, a Disarm with a wrong PIN
    let arm =
        support::read("events/SecurityPanelController/SecurityPanelController.Arm.request.json");
    let wrong_pin =
        support::read("events/SecurityPanelController/SecurityPanelController.Disarm.request.json")
            .replace("\"1234\"", "\"7531\"");
    for event in [
        discover,
        turn_on,
        r#"{"directive": 42}"#.to_owned(),
        unknown,
        arm,
        wrong_pin,
    ] {
        let answer = api.invoke(event, WAIT).await.unwrap();
        assert!(!answer.is_error);
    }
    let skill_log = skill.output();

    // AND the reconcile function reconciles the customer for an operator
    let api = RuntimeApi::start().await.unwrap();
    let reconcile = Function::start(&api, env!("CARGO_BIN_EXE_reconcile"), &tables, &env);
    let answer = api
        .invoke(json!({ "userIds": [user] }).to_string(), WAIT)
        .await
        .unwrap();
    assert!(
        !answer.is_error,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let reconcile_log = reconcile.output();

    // THEN every metric line is one the alarms and dashboard know, with its unit and dimensions
    let skill_metrics = metrics(&skill_log);
    let reconcile_metrics = metrics(&reconcile_log);
    // AND the figures are there
    let discover = [
        ("Namespace", "Alexa.Discovery"),
        ("Name", "Discover"),
        ("Outcome", "SUCCESS"),
    ];
    assert_eq!(total(&skill_metrics, "Directives", &discover), 1.0);
    let turn_on = [("Name", "TurnOn"), ("Outcome", "SUCCESS")];
    assert_eq!(total(&skill_metrics, "Directives", &turn_on), 1.0);
    let malformed = [("Namespace", "other"), ("Outcome", "INVALID_DIRECTIVE")];
    assert_eq!(total(&skill_metrics, "Directives", &malformed), 1.0);
    let unknown = [("Outcome", "INVALID_AUTHORIZATION_CREDENTIAL")];
    assert_eq!(total(&skill_metrics, "Directives", &unknown), 1.0);
    let refused = [("Name", "Disarm"), ("Outcome", "UNAUTHORIZED")];
    assert_eq!(total(&skill_metrics, "Directives", &refused), 1.0);
    assert_eq!(
        total(&skill_metrics, "PinsRefused", &[("Reason", "Wrong")]),
        1.0
    );
    assert_eq!(
        total(&skill_metrics, "DiscoveredEndpoints", &[]),
        seed.devices.len() as f64
    );
    assert_eq!(
        total(&reconcile_metrics, "LwaRefreshes", &[("Outcome", "fresh")]),
        1.0
    );
    assert_eq!(
        total(
            &reconcile_metrics,
            "Reconciliations",
            &[("Outcome", "sent")]
        ),
        1.0
    );
    assert_eq!(
        total(
            &reconcile_metrics,
            "ReconciledEndpoints",
            &[("Change", "upsert")]
        ),
        seed.devices.len() as f64
    );
    let added = [("Event", "AddOrUpdateReport"), ("Status", "202")];
    assert_eq!(total(&reconcile_metrics, "GatewayEvents", &added), 1.0);
    let sent = total(&reconcile_metrics, "GatewayEvents", &[]);
    assert_eq!(
        total(&reconcile_metrics, "GatewayResponses", &[("Class", "2xx")]),
        sent
    );
    assert_eq!(
        gateway.received_requests().await.unwrap().len() as f64,
        sent
    );

    // AND no metric line holds a token, a secret, a customer or an endpoint
    let mut forbidden = vec![
        user.to_string(),
        "access-token-from-skill".to_owned(),
        "Unknown-Token-Secret-123".to_owned(),
        LWA_SECRET.to_owned(),
        ACCESS.to_owned(),
        REFRESH.to_owned(),
        FRESH.to_owned(),
    ];
    forbidden.extend(
        seed.devices
            .iter()
            .map(|d| d.definition.endpoint_id.to_string()),
    );
    // AND the PIN is nowhere in the skill's output, metrics or logs
    assert!(!skill_log.contains("\"7531\"") && !skill_log.contains("7531\\\""));
    for log in [&skill_log, &reconcile_log] {
        for line in log.lines().filter(|l| l.contains("\"_aws\"")) {
            for secret in &forbidden {
                assert!(!line.contains(secret.as_str()), "{secret:?} in {line}");
            }
        }
    }
}

#[tokio::test]
async fn the_skill_in_jwt_mode_counts_key_set_fetches_and_outages_without_tokens_or_keys() {
    use alexa_smart_home_local::idp::{AUDIENCE, Failure, IdentityProvider};
    // GIVEN the skill binary verifying JWTs of a stand-in identity provider
    let tables = TestTables::example_account().await;
    let idp = IdentityProvider::start(jsonwebtoken::Algorithm::RS256).await;
    let env = [
        ("ACCOUNT_LINKING", "jwt".to_owned()),
        ("TOKEN_ISSUER", idp.issuer()),
        ("TOKEN_AUDIENCE", AUDIENCE.to_owned()),
        ("JWKS_REFETCH_INTERVAL_SECONDS", "600".to_owned()),
    ];
    let api = RuntimeApi::start().await.unwrap();
    let skill = Function::start(&api, env!("CARGO_BIN_EXE_skill"), &tables, &env);
    let valid = idp.access_token("example-user");
    let discover = |token: &str| {
        support::directive_with_token("events/Discovery/Discovery.request.json", token)
    };

    // WHEN a valid token is checked (one fetch), then the issuer rotates while its key set
    // answers 503, and a token of the new key arrives
    let answer = api.invoke(discover(&valid), WAIT).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer["event"]["header"]["name"], "Discover.Response");
    let rotated = idp.rotate(jsonwebtoken::Algorithm::RS256);
    idp.fail(Failure::Status(503));
    let new = idp.access_token("example-user");
    let answer = api.invoke(discover(&new), WAIT).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    support::schema::assert_valid(&answer);
    assert_eq!(answer["event"]["payload"]["type"], "INTERNAL_ERROR");
    let log = skill.output();

    // THEN the fetch and the outage are counted
    let found = metrics(&log);
    assert_eq!(
        total(&found, "KeySetFetches", &[("Outcome", "fetched")]),
        1.0
    );
    assert_eq!(
        total(&found, "KeySetFetches", &[("Outcome", "failed")]),
        1.0
    );
    let outage = [("Mode", "jwt"), ("Reason", "status_5xx")];
    assert_eq!(total(&found, "IdentityProviderUnavailable", &outage), 1.0);
    assert_eq!(total(&found, "DirectiveInternalErrors", &[]), 1.0);
    // AND no line of the log, metric or not, holds a token or a key
    let key_parts = |key: &alexa_smart_home_local::idp::SigningKey| {
        let jwk: Value = serde_json::from_str(&key.public_json()).unwrap();
        jwk["n"].as_str().unwrap()[..40].to_owned()
    };
    for secret in [
        valid.clone(),
        new.clone(),
        valid.rsplit('.').next().unwrap().to_owned(),
        new.rsplit('.').next().unwrap().to_owned(),
        key_parts(&rotated),
        key_parts(&idp.signing_key()),
    ] {
        assert!(!log.contains(&secret), "{secret:?} in the log");
    }
    assert!(
        log.contains("key set fetched"),
        "the log says what happened"
    );
}
