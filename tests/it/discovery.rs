//! Discovery against the real local DynamoDB-compatible server.

use crate::support;

use std::collections::HashMap;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::Device;
use alexa_smart_home::store::TokenRecord;
use alexa_smart_home::store::seed::Seed;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::{directive_with_token, logs, schema};

const DISCOVER: &str = "events/Discovery/Discovery.request.json";

async fn discover(tables: &TestTables, token: &str) -> Value {
    let skill = support::skill(tables.store.clone(), &tables.config);
    let answer = support::json(&skill.handle(&directive_with_token(DISCOVER, token)).await);
    schema::assert_valid(&answer);
    answer
}

fn endpoint_ids(answer: &Value) -> Vec<String> {
    answer["event"]["payload"]["endpoints"]
        .as_array()
        .expect("a Discover.Response")
        .iter()
        .map(|e| e["endpointId"].as_str().unwrap().to_owned())
        .collect()
}

async fn user_with_token(tables: &TestTables, user: &str) -> String {
    let token = format!("token-{}", uuid::Uuid::new_v4());
    let record = TokenRecord {
        user_id: user.into(),
        expires_at: None,
    };
    tables
        .store
        .put_token(&BearerToken::new(&token), &record)
        .await
        .unwrap();
    token
}

fn device(user: &str, id: &str) -> Device {
    serde_json::from_value(json!({
        "userId": user, "endpointId": id, "name": format!("Light {id}"),
        "description": "Smart bulb by Example Devices", "manufacturer": "Example Devices",
        "category": "LIGHT", "capabilities": [{"type": "power"}, {"type": "brightness"}],
    }))
    .unwrap()
}

#[tokio::test]
async fn discovers_every_seeded_device_of_the_example_account() {
    // GIVEN the example account that `make run` seeds
    let tables = TestTables::new().await;
    let seed = Seed::from_json(&support::read("fixtures/example-account.json")).unwrap();
    seed.apply(&tables.store).await.unwrap();

    // WHEN Alexa sends the sample Discover directive from events/
    let skill = support::skill(tables.store.clone(), &tables.config);
    let answer = support::json(&skill.handle(&support::read(DISCOVER)).await);

    // THEN every seeded device is discovered, in endpoint id order, and the answer is valid
    schema::assert_valid(&answer);
    let mut expected: Vec<String> = seed
        .devices
        .iter()
        .map(|d| d.definition.endpoint_id.to_string())
        .collect();
    expected.sort();
    assert_eq!(endpoint_ids(&answer), expected);

    let by_id: HashMap<&str, &Value> = answer["event"]["payload"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["endpointId"].as_str().unwrap(), e))
        .collect();
    // The home theater: the soundbar groups two Alexa built-in speakers; the TV follows it.
    let soundbar = by_id["home-theater-soundbar"];
    assert_eq!(
        soundbar["relationships"]["isClusterOf"],
        json!([
            {"endpointId": "amzn1.alexa.endpoint.echo-studio-rear-left", "endpointTypeId": "SPEAKER", "source": "AVS"},
            {"endpointId": "amzn1.alexa.endpoint.echo-studio-rear-right", "endpointTypeId": "SPEAKER", "source": "AVS"}
        ])
    );
    assert_eq!(
        by_id["home-theater-tv"]["relationships"],
        json!({"isControlledBy": [{"endpointId": "home-theater-soundbar"}]})
    );
    let interfaces = |id: &str| -> Vec<String> {
        by_id[id]["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["interface"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        interfaces("hallway-thermostat"),
        [
            "Alexa",
            "Alexa.ThermostatController",
            "Alexa.TemperatureSensor",
            "Alexa.EndpointHealth"
        ]
    );
    assert_eq!(
        interfaces("movie-night-scene"),
        ["Alexa", "Alexa.SceneController", "Alexa.EndpointHealth"]
    );
    assert_eq!(
        by_id["living-room-light"]["cookie"],
        json!({"hub": "hub-7"})
    );
    assert_eq!(
        by_id["living-room-light"]["additionalAttributes"]["serialNumber"],
        "EB100-0001"
    );
}

#[tokio::test]
async fn an_account_of_1000_devices_is_read_in_pages_and_300_are_sent() {
    let captured = logs::capture();
    // GIVEN 1,000 devices, read 100 per Query page
    let tables = TestTables::with_page_size(Some(100)).await;
    let user = format!("big-{}", uuid::Uuid::new_v4().simple());
    let token = user_with_token(&tables, &user).await;
    let mut writes = tokio::task::JoinSet::new();
    for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
        let (store, user, chunk) = (tables.store.clone(), user.clone(), chunk.to_vec());
        writes.spawn(async move {
            for i in chunk {
                store
                    .put_device(&device(&user, &format!("dev-{i:04}")))
                    .await
                    .unwrap();
            }
        });
    }
    writes.join_all().await;

    // WHEN Alexa discovers
    let answer = discover(&tables, &token).await;

    // THEN the first 300 in endpoint id order are sent, the same ones every time
    let expected: Vec<String> = (0..300).map(|i| format!("dev-{i:04}")).collect();
    assert_eq!(endpoint_ids(&answer), expected);
    assert_eq!(endpoint_ids(&discover(&tables, &token).await), expected);
    // AND the warning counts every device, though only the 300 sent were read whole (the
    // rest is counted: tests/reliability.rs counts the Queries)
    let text = captured.text();
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("devices=1000") && l.contains("sent=300")),
        "no warning naming the count"
    );
}

#[tokio::test]
async fn an_account_without_devices_discovers_nothing() {
    let tables = TestTables::new().await;
    let token = user_with_token(&tables, "nobody-home").await;
    let answer = discover(&tables, &token).await;
    assert_eq!(answer["event"]["header"]["name"], "Discover.Response");
    assert_eq!(answer["event"]["payload"]["endpoints"], json!([]));
}

#[tokio::test]
async fn devices_with_invalid_fields_are_left_out_and_the_rest_discovered() {
    let captured = logs::capture();
    let tables = TestTables::new().await;
    let user = format!("mixed-{}", uuid::Uuid::new_v4().simple());
    let token = user_with_token(&tables, &user).await;

    let good = ["good-1", "good-2"];
    for id in good {
        tables.store.put_device(&device(&user, id)).await.unwrap();
    }
    // Each broken in one way that Alexa would reject.
    type Breaker = fn(&mut Device);
    let broken: Vec<(&str, Breaker)> = vec![
        ("bad id with spaces", |_| {}),
        ("bad-name-empty", |d| d.definition.name = String::new()),
        ("bad-name-long", |d| d.definition.name = "n".repeat(129)),
        ("bad-description-long", |d| {
            d.definition.description = "d".repeat(129)
        }),
        ("bad-manufacturer-empty", |d| {
            d.definition.manufacturer = " ".into()
        }),
        ("bad-category", |d| d.definition.category = "TOASTER".into()),
        ("bad-cookie", |d| {
            d.definition.cookie.insert("blob".into(), "x".repeat(5001));
        }),
        ("bad-model-long", |d| {
            d.definition.model = Some("m".repeat(257))
        }),
        ("bad-controller", |d| {
            d.definition.relationships.controlled_by = vec!["not valid".into()]
        }),
    ];
    for (id, breaker) in &broken {
        let mut d = device(&user, id);
        breaker(&mut d);
        tables.store.put_device(&d).await.unwrap();
    }
    let long_id = "x".repeat(300);
    tables
        .store
        .put_device(&device(&user, &long_id))
        .await
        .unwrap();
    // Items the device cloud wrote wrongly: a missing required attribute, a wrong type.
    let raw_items = [
        (
            "bad-item-no-name",
            HashMap::from([("category".to_owned(), AttributeValue::S("LIGHT".into()))]),
        ),
        (
            "bad-item-capabilities-type",
            HashMap::from([
                ("name".to_owned(), AttributeValue::S("Lamp".into())),
                ("description".to_owned(), AttributeValue::S("d".into())),
                ("manufacturer".to_owned(), AttributeValue::S("m".into())),
                ("category".to_owned(), AttributeValue::S("LIGHT".into())),
                ("capabilities".to_owned(), AttributeValue::S("power".into())),
            ]),
        ),
    ];
    for (id, mut item) in raw_items {
        item.insert("userId".into(), AttributeValue::S(user.clone()));
        item.insert("endpointId".into(), AttributeValue::S(id.into()));
        tables
            .store
            .client()
            .put_item()
            .table_name(&tables.config.devices_table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    let answer = discover(&tables, &token).await;
    assert_eq!(endpoint_ids(&answer), good);

    // Every left-out device is logged with its id and a reason.
    let text = captured.text();
    for (id, _) in &broken {
        assert!(
            text.lines()
                .any(|l| l.contains("WARN") && l.contains(id) && l.contains("reason=")),
            "{id} not logged"
        );
    }
    assert!(text.contains(&long_id[..256]) && text.contains("more than 256"));
    for id in ["bad-item-no-name", "bad-item-capabilities-type"] {
        assert!(
            text.lines()
                .any(|l| l.contains(id) && l.contains("cannot be decoded")),
            "{id} not logged"
        );
    }
}

#[tokio::test]
async fn unknown_token_is_invalid_authorization_credential() {
    let tables = TestTables::new().await;
    let answer = discover(&tables, "never-issued").await;
    assert_eq!(answer["event"]["header"]["name"], "ErrorResponse");
    assert_eq!(
        answer["event"]["payload"]["type"],
        "INVALID_AUTHORIZATION_CREDENTIAL"
    );
}

#[tokio::test]
async fn expired_token_is_expired_authorization_credential() {
    let tables = TestTables::new().await;
    let record = TokenRecord {
        user_id: "u-expired".into(),
        expires_at: Some(1_600_000_000),
    };
    tables
        .store
        .put_token(&BearerToken::new("old-token"), &record)
        .await
        .unwrap();
    let answer = discover(&tables, "old-token").await;
    assert_eq!(
        answer["event"]["payload"]["type"],
        "EXPIRED_AUTHORIZATION_CREDENTIAL"
    );
}

/// The skill reads the time from its clock: a token is good until the clock passes its
/// expiry, and expired from the second after.
#[tokio::test]
async fn a_token_expires_when_the_skills_clock_passes_its_expiry() {
    let tables = TestTables::new().await;
    let expires_at = 2_000_000_000;
    let record = TokenRecord {
        user_id: "u-expiring".into(),
        expires_at: Some(expires_at),
    };
    tables
        .store
        .put_token(&BearerToken::new("expiring-token"), &record)
        .await
        .unwrap();
    let clock = Clock::at_ms((expires_at - 1) * 1000);
    let skill = support::skill(tables.store.clone(), &tables.config).with_clock(clock.clone());
    let directive = directive_with_token(DISCOVER, "expiring-token");

    let before = support::json(&skill.handle(&directive).await);
    schema::assert_valid(&before);
    assert_eq!(before["event"]["header"]["name"], "Discover.Response");

    clock.advance(std::time::Duration::from_secs(2));
    let after = support::json(&skill.handle(&directive).await);
    schema::assert_valid(&after);
    assert_eq!(
        after["event"]["payload"]["type"],
        "EXPIRED_AUTHORIZATION_CREDENTIAL"
    );
}

#[tokio::test]
async fn a_failing_store_is_internal_error_with_the_cause_logged() {
    let captured = logs::capture();
    // GIVEN tables that do not exist on the server
    let mut tables = TestTables::new().await;
    tables.config.tokens_table = format!("missing-{}", uuid::Uuid::new_v4().simple());
    let store = alexa_smart_home::store::dynamo::DynamoStore::new(
        tables.store.client().clone(),
        &tables.config,
    );
    let skill = support::skill(store, &tables.config);

    let answer = support::json(&skill.handle(&directive_with_token(DISCOVER, "any")).await);
    schema::assert_valid(&answer);
    assert_eq!(answer["event"]["payload"]["type"], "INTERNAL_ERROR");
    // The cause goes to the log, not to Alexa.
    assert_eq!(answer["event"]["payload"]["message"], "internal error");
    let text = captured.text();
    assert!(
        text.lines()
            .any(|l| l.contains("ERROR") && l.contains(&tables.config.tokens_table)),
        "cause not logged"
    );
}
