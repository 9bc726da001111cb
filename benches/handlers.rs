//! CPU cost of the handlers, without I/O (criterion; `cargo bench --bench handlers`):
//! parse + dispatch of each sample directive against the in-memory store, mapping and
//! serializing a 300-endpoint Discover.Response, and classifying and building the reports of a
//! 1,000-record stream batch over 100 customers.

mod common;

use std::hint::black_box;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::alexa::event;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::config::Config;
use alexa_smart_home::device::mapping;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::TokenRecord;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::stream::{changes, reports_for};
use alexa_smart_home_local::memory::MemoryStore;
use common::{account, read};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn directives(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = MemoryStore::new();
    let seed = Seed::from_json(&read("fixtures/example-account.json")).expect("seed");
    for d in seed.devices {
        store.put_device(d);
    }
    store.add_token(
        &BearerToken::new("access-token-from-skill"),
        TokenRecord {
            user_id: "example-user".into(),
            expires_at: None,
        },
    );
    let skill = Skill::from_config(
        store,
        &Config::local("http://127.0.0.1:9"),
        alexa_smart_home::http::client().unwrap(),
    )
    .unwrap();
    let mut group = c.benchmark_group("directive parse+dispatch");
    for file in [
        "events/Discovery/Discovery.request.json",
        "events/PowerController/PowerController.TurnOn.request.json",
        "events/BrightnessController/BrightnessController.AdjustBrightness.request.json",
        "events/ThermostatController/ThermostatController.SetTargetTemperature.request.json",
        "events/Alexa/Alexa.ReportState.request.json",
    ] {
        let raw = read(file);
        let name = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".request.json");
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| skill.handle(black_box(&raw)))
        });
    }
    let malformed = r#"{"directive": {"header": {"namespace": "Alexa", "name": "Nope"}}}"#;
    group.bench_function("malformed", |b| {
        b.to_async(&runtime)
            .iter(|| skill.handle(black_box(malformed)))
    });
    group.finish();
}

fn discover_300(c: &mut Criterion) {
    let devices = account("u", 300);
    c.bench_function("discover: map + validate + serialize 300 endpoints", |b| {
        b.iter(|| {
            let endpoints =
                mapping::discoverable(black_box(&devices).iter().map(|d| &d.definition));
            serde_json::to_vec(&event::discover_response(endpoints)).expect("serializes")
        })
    });
}

fn stream_batch(c: &mut Criterion) {
    let event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(common::stream_batch()).expect("a stream event");
    c.bench_function(
        "stream: classify + build reports, 1,000 records / 100 users",
        |b| {
            // The clone is setup, outside the measurement: decoding consumes the event.
            b.iter_batched(
                || event.clone(),
                |event| {
                    let batch = changes::decode(black_box(event));
                    let now = Clock::system().now_ms();
                    batch
                        .users
                        .iter()
                        .map(|u| reports_for(u, now, |_| true).len())
                        .sum::<usize>()
                },
                BatchSize::LargeInput,
            )
        },
    );
}

criterion_group!(benches, directives, discover_300, stream_batch);
criterion_main!(benches);
