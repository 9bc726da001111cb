//! CPU cost of the handlers, without I/O (criterion; `cargo bench --bench handlers`):
//! parse + dispatch of each sample directive against the in-memory store, mapping and
//! serializing a 300-endpoint Discover.Response, and classifying and building the reports of a
//! 1,000-record stream batch over 100 customers.

use std::hint::black_box;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::alexa::event;
use alexa_smart_home::config::Config;
use alexa_smart_home::device::Device;
use alexa_smart_home::device::properties::now_ms;
use alexa_smart_home::handlers::discovery;
use alexa_smart_home::local::stream::record;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::TokenRecord;
use alexa_smart_home::store::memory::MemoryStore;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::stream::{changes, reports_for};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

/// 300 devices like the example account's, cycling through its kinds.
pub fn account(user: &str, count: usize) -> Vec<Device> {
    let seed = Seed::from_json(&read("fixtures/example-account.json")).expect("seed");
    (0..count)
        .map(|i| {
            let mut d = seed.devices[i % seed.devices.len()].clone();
            d.user_id = user.to_owned();
            d.endpoint_id = format!("{}-{i:04}", d.endpoint_id);
            d
        })
        .collect()
}

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
        alexa_smart_home::http::client(),
    );
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
            let endpoints = discovery::discoverable(black_box(&devices));
            serde_json::to_vec(&event::discover_response(endpoints)).expect("serializes")
        })
    });
}

fn stream_batch(c: &mut Criterion) {
    // 100 customers × 10 records: adds, renames, state changes and deletes.
    let mut records = Vec::new();
    let mut seq = 1_000_000u64;
    for u in 0..100 {
        let devices = account(&format!("user-{u:03}"), 4);
        for (i, d) in devices.iter().enumerate() {
            seq += 1;
            records.push(record(seq, None, Some(d)));
            let mut changed = d.clone();
            if i % 2 == 0 {
                changed.name = format!("{} renamed", d.name);
            } else {
                changed.state.power_on = Some(true);
                changed.changed_by = Some(event::CauseType::PhysicalInteraction);
            }
            seq += 1;
            records.push(record(seq, Some(d), Some(&changed)));
            if i < 2 {
                seq += 1;
                records.push(record(seq, Some(&changed), None));
            }
        }
    }
    assert_eq!(records.len(), 1000);
    let event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(json!({ "Records": records })).expect("a stream event");
    c.bench_function(
        "stream: classify + build reports, 1,000 records / 100 users",
        |b| {
            b.iter(|| {
                let batch = changes::decode(black_box(&event));
                let now = now_ms();
                batch
                    .users
                    .iter()
                    .map(|u| reports_for(u, now).len())
                    .sum::<usize>()
            })
        },
    );
}

criterion_group!(benches, directives, discover_300, stream_batch);
criterion_main!(benches);
