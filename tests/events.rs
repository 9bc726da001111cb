//! The sample directives in `events/` (the files `cargo lambda invoke --data-file` uses) are
//! named the Alexa way, parse as supported directives, and are answered successfully for the
//! example account.

mod support;

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

    let tables = TestTables::new().await;
    Seed::from_json(&support::read("fixtures/example-account.json"))
        .unwrap()
        .apply(&tables.store)
        .await
        .unwrap();
    let skill = support::skill(tables.store.clone(), &tables.config);

    for path in files {
        let raw = std::fs::read_to_string(&path).unwrap();
        let directive =
            Directive::parse(&raw).unwrap_or_else(|e| panic!("{}: {:?}", path.display(), e.error));
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
