//! The certification (`make certify`, `devicectl certify`): Amazon's capability-evaluation test
//! plans and the Works-with-Alexa checks, run through the real skill binary against the local
//! server, on the example account, on a bulb behind AWS IoT Core (moto's shadows), and on a
//! bulb that does not behave.

use crate::support;

use std::sync::Arc;

use alexa_smart_home::config::Config;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home_local::certify::plans::Sources;
use alexa_smart_home_local::certify::report::{Outcome, Report};
use alexa_smart_home_local::certify::{self, DeviceBehaviour, Options};
use serde_json::{Value, json};

fn options(catalogue: Seed, device: DeviceBehaviour) -> Options {
    Options {
        catalogue,
        skill: env!("CARGO_BIN_EXE_skill").into(),
        // A server of its own (a run sends hundreds of requests), and IoT shadows on moto even
        // when DynamoDB is DynamoDB Local.
        config: support::iot::with_iot(&Config::local(support::dynamo::busy_endpoint())),
        plans: Sources::for_repository(&support::repo_path("")),
        device,
    }
}

async fn certify(catalogue: Seed, device: DeviceBehaviour) -> Report {
    let _alone = support::HEAVY.lock().await;
    let report = certify::run(options(catalogue, device))
        .await
        .unwrap_or_else(|e| panic!("the certification could not run: {e}"));
    println!("{}", report.text());
    report
}

/// The outcome of one case against one endpoint.
fn outcome<'a>(report: &'a Report, endpoint: &str, plan: &str, case: &str) -> &'a Outcome {
    let e = report
        .endpoints
        .iter()
        .find(|e| e.endpoint_id == endpoint)
        .unwrap_or_else(|| panic!("no {endpoint} in the report"));
    &e.cases
        .iter()
        .find(|c| c.plan == plan && c.case == case)
        .unwrap_or_else(|| panic!("{plan} {case} not run against {endpoint}"))
        .outcome
}

#[tokio::test]
async fn the_example_account_passes_every_applicable_case_of_amazons_nine_plans() {
    let seed = Seed::from_json(&support::read("fixtures/example-account.json")).unwrap();
    let report = certify(seed, certify::faithful()).await;
    let s = &report.summary;
    assert!(s.passed_all, "{}", report.text());
    assert_eq!(s.failed, 0);
    assert_eq!(s.rule_failures, 0);
    // Every one of the nine plans ran somewhere.
    for (plan, _) in alexa_smart_home_local::certify::plans::PLANS {
        let ran = report
            .endpoints
            .iter()
            .flat_map(|e| &e.cases)
            .filter(|c| c.plan == plan && c.outcome == Outcome::Passed)
            .count();
        assert!(ran > 0, "no case of {plan} ran");
    }
    // The full-range bulb takes every case of the four light plans.
    let lamp = report
        .endpoints
        .iter()
        .find(|e| e.endpoint_id == "studio-lamp")
        .unwrap();
    assert_eq!(lamp.cases.len(), 20 + 13 + 21 + 2);
    assert!(lamp.cases.iter().all(|c| c.outcome == Outcome::Passed));
    // Cases that cannot apply say why, and are not counted as run.
    assert_eq!(
        outcome(
            &report,
            "bedroom-color-light",
            "ColorTemperatureController",
            "ClrRlt_1.0.2"
        ),
        &Outcome::Skipped("it needs 7000 K; the bulb shows 2200–6500 K".into())
    );
    assert!(s.cases_run >= 150, "{s:?}");
    // AND the report the book shows is this one, line for line.
    let page = support::read("docs/certification.md");
    let example = page
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the book's example report");
    let text = report.text();
    for line in example.lines().filter(|l| *l != "...") {
        assert!(
            text.lines().any(|l| l == line),
            "docs/certification.md shows a line the report does not have:\n{line}"
        );
    }
}

/// `fixtures/iot-bulb.json` (what the book's `make certify CATALOGUE=...` example certifies): a
/// colour bulb with tunable white behind AWS IoT Core, on a thing of its own for this run.
fn iot_bulb() -> Seed {
    let mut seed = Seed::from_json(&support::read("fixtures/iot-bulb.json")).unwrap();
    seed.devices[0].thing_name = Some(format!("certify-bulb-{}", uuid::Uuid::new_v4().simple()));
    seed
}

/// What the simulated device was asked, directive by directive, in one case.
fn desired<'a>(report: &'a Report, plan: &str, case: &str) -> &'a [Value] {
    &report.endpoints[0]
        .cases
        .iter()
        .find(|c| c.plan == plan && c.case == case)
        .unwrap()
        .desired
}

#[tokio::test]
async fn a_bulb_behind_aws_iot_is_asked_what_the_light_rules_plan() {
    let report = certify(iot_bulb(), certify::faithful()).await;
    assert!(report.summary.passed_all, "{}", report.text());
    assert_eq!(report.endpoints[0].device_cloud, "iot");
    // Set to 0 %: the shadow is asked to switch off (its brightness kept).
    let zero = desired(&report, "BrightnessController", "DevRe_9.0");
    assert_eq!(zero.last().unwrap()["powerOn"], json!(false), "{zero:?}");
    assert_eq!(zero.last().unwrap()["brightness"], json!(100), "{zero:?}");
    // A colour on an off bulb: asked for the colour and to switch on, in one update.
    let blue = desired(&report, "ColorController", "Clr_1.1.2");
    assert_eq!(blue.last().unwrap()["powerOn"], json!(true), "{blue:?}");
    assert_eq!(
        blue.last().unwrap()["color"]["hue"],
        json!(240.0),
        "{blue:?}"
    );
    // "Brighter" on an off bulb: 25 % and on.
    let brighter = desired(&report, "BrightnessController", "DevRe_5.0");
    assert_eq!(brighter.last().unwrap()["brightness"], json!(25));
    assert_eq!(brighter.last().unwrap()["powerOn"], json!(true));
}

#[tokio::test]
async fn a_bulb_that_will_not_switch_off_fails_and_the_report_names_the_cases() {
    // GIVEN a bulb whose firmware dims but ignores being switched off
    let never_off: DeviceBehaviour = Arc::new(|desired: &Value| {
        let mut reported = desired.clone();
        reported["powerOn"] = json!(true);
        reported
    });
    // WHEN it is certified
    let report = certify(iot_bulb(), never_off).await;
    // THEN the certification fails, naming "0 % is off" and the others it broke
    assert!(!report.summary.passed_all);
    let Outcome::Failed(why) = outcome(&report, "porch-bulb", "BrightnessController", "DevRe_9.0")
    else {
        panic!("DevRe_9.0 passed: {}", report.text());
    };
    assert_eq!(
        why,
        "expected PowerController.powerState \"OFF\", reported \"ON\""
    );
    assert!(
        report
            .text()
            .contains("FAILED DevRe_9.0: expected PowerController.powerState")
    );
    assert!(matches!(
        outcome(&report, "porch-bulb", "PowerController", "DevRe_1.1"),
        Outcome::Failed(_)
    ));
    // AND what does not involve switching off still passes
    assert_eq!(
        outcome(&report, "porch-bulb", "ColorController", "Clr_1.0.0"),
        &Outcome::Passed
    );
}

#[tokio::test]
async fn without_the_plans_and_nothing_to_fetch_them_from_it_fails_saying_how_to_get_them() {
    let empty = std::env::temp_dir().join(format!("no-plans-{}", uuid::Uuid::new_v4()));
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/plans", listener.local_addr().unwrap())
    };
    let sources = Sources {
        explicit: None,
        shared: empty.join("shared"),
        cache: empty.join("cache"),
        url: closed,
    };
    let error = sources.load().await.unwrap_err().to_string();
    assert!(
        error.contains("fetching them from http://127.0.0.1"),
        "{error}"
    );
    assert!(error.contains("CAPABILITY_EVALUATIONS_PATH"), "{error}");
    assert!(error.contains("shared/"), "{error}");
    // One named explicitly is the only place looked at.
    let named = Sources {
        explicit: Some(empty.join("nowhere")),
        ..Sources::for_repository(&support::repo_path(""))
    };
    let error = named.load().await.unwrap_err().to_string();
    assert!(
        error.contains("when it is set, nothing else is looked at"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&empty);
}
