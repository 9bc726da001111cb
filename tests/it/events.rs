//! The sample directives in `events/` (the files `cargo lambda invoke --data-file` uses) are
//! named the Alexa way, parse as supported directives, and are answered successfully for the
//! example account as seeded.

use crate::support;

use std::path::Path;

use alexa_smart_home::alexa::directive::Directive;
use alexa_smart_home::store::seed::Seed;
use support::dynamo::TestTables;
use support::schema;

fn request_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            request_files(&path, out);
        } else if path.to_string_lossy().ends_with(".request.json") {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn every_sample_directive_is_supported_and_answered() {
    let mut files = Vec::new();
    request_files(&support::repo_path("events"), &mut files);
    assert!(!files.is_empty());
    // In one order everywhere, whatever order the file system lists them in.
    files.sort();

    let mut tables = TestTables::example_account().await;
    // AcceptGrant exchanges its code at (the local fake of) Login with Amazon.
    let fakes = alexa_smart_home_local::fakes::FakeAmazon::start(false).await;
    tables.config.lwa_token_url = fakes.lwa_token_url();
    tables.config.lwa_client_id = Some("client-id".into());
    tables.config.lwa_client_secret = Some(alexa_smart_home::alexa::Secret::new("client-secret"));
    // The cameras' streams come from (a fake of) the maker's API.
    let maker = alexa_smart_home_local::maker::FakeMaker::start(false).await;
    tables.config.device_api_url = Some(maker.url());
    tables.config.device_api_secret = Some(alexa_smart_home::alexa::Secret::new(
        alexa_smart_home_local::maker::SECRET,
    ));
    let skill = support::skill(tables.store.clone(), &tables.config);
    let seed = Seed::from_json(&support::read("fixtures/example-account.json")).unwrap();

    for path in files {
        let raw = std::fs::read_to_string(&path).unwrap();
        let directive =
            Directive::parse(&raw).unwrap_or_else(|e| panic!("{}: {:?}", path.display(), e.error));
        // Each sample meets its device as seeded, not as the samples before it left it (after
        // PlaybackController.Stop the TV rightly refuses to seek).
        if let Some(endpoint) = &directive.endpoint
            && let Some(seeded) = seed
                .devices
                .iter()
                .find(|d| d.definition.endpoint_id == endpoint.endpoint_id)
        {
            tables.store.put_device(seeded).await.unwrap();
        }
        // events/<Interface>/<Interface>[.<Name>].request.json, Interface = namespace without "Alexa."
        let folder = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let interface = directive.header.namespace.trim_start_matches("Alexa.");
        assert_eq!(
            folder,
            interface,
            "{} is in the wrong folder",
            path.display()
        );
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{interface}."))
        );

        let answer = support::json(&skill.handle(&raw).await);
        schema::assert_valid(&answer);
        assert_ne!(
            answer["event"]["header"]["name"],
            "ErrorResponse",
            "{}: {answer}",
            path.display()
        );
    }
}

#[tokio::test]
async fn the_sample_stream_event_is_a_lambda_event_the_stream_processor_handles() {
    use alexa_smart_home::alexa::Secret;
    use alexa_smart_home::gateway::GatewayRegion;
    use alexa_smart_home::store::{GrantStore, NewGrant};
    use alexa_smart_home::stream::StreamProcessor;
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

    // GIVEN the sample batch (add, rename, delete of one device) and a grant for its customer
    let raw = support::read("events/DynamoDBStream/DevicesTable.add-rename-delete.json");
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_str(&raw).unwrap();
    let names: Vec<&str> = event
        .records
        .iter()
        .map(|r| r.event_name.as_str())
        .collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE"]);
    let mut tables = TestTables::new().await;
    tables
        .store
        .put_grant(NewGrant {
            user_id: "example-user".into(),
            access_token: Secret::new("Atza|sample"),
            refresh_token: Secret::new("Atzr|sample"),
            expires_at: i64::MAX,
            region: GatewayRegion::NorthAmerica,
            granted_at: alexa_smart_home::clock::Clock::system().now_ms(),
        })
        .await
        .unwrap();
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&gateway)
        .await;
    tables.config.event_gateway_url = Some(gateway.uri());
    let processor = StreamProcessor::from_config(
        tables.store.clone(),
        &tables.config,
        alexa_smart_home::http::client().unwrap(),
    );

    // WHEN the stream Lambda handles it
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let response = processor.process(event, deadline).await;

    // THEN it coalesces to one DeleteReport, and nothing is left to retry
    assert!(response.batch_item_failures.is_empty());
    let sent = gateway.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    schema::assert_valid(&body);
    assert_eq!(body["event"]["header"]["name"], "DeleteReport");
    assert_eq!(
        body["event"]["payload"]["endpoints"],
        serde_json::json!([{"endpointId": "porch-light"}])
    );
}
