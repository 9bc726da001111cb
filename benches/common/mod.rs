//! Data both benches use: accounts like the example one, and a 1,000-record stream batch.
#![allow(dead_code)]

use alexa_smart_home::device::Device;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home_local::stream::record;
use serde_json::{Value, json};

pub fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).expect(path)
}

/// `count` devices of `user`, cycling through the example account's kinds, or those of the
/// seed file `LAMBDA_BENCH_SEED` names: a build older than a device kind drops what it does not
/// know, so a side-by-side comparison of builds uses a seed both know.
pub fn account(user: &str, count: usize) -> Vec<Device> {
    let json = match std::env::var("LAMBDA_BENCH_SEED") {
        Ok(path) => std::fs::read_to_string(&path).expect("LAMBDA_BENCH_SEED"),
        Err(_) => read("fixtures/example-account.json"),
    };
    let seed = Seed::from_json(&json).expect("seed");
    (0..count)
        .map(|i| {
            let mut d = seed.devices[i % seed.devices.len()].clone();
            d.definition.user_id = user.into();
            d.definition.endpoint_id = format!("{}-{i:04}", d.definition.endpoint_id).into();
            d
        })
        .collect()
}

/// 1,000 records over 100 customers (`stream-user-000` …): adds, renames, state changes,
/// deletes, as a Lambda stream event.
pub fn stream_batch() -> Value {
    let mut records = Vec::new();
    let mut seq = 1_000_000u64;
    for u in 0..100 {
        for (i, d) in account(&format!("stream-user-{u:03}"), 4)
            .iter()
            .enumerate()
        {
            seq += 1;
            records.push(record(seq, None, Some(d)));
            let mut changed = d.clone();
            if i % 2 == 0 {
                changed.definition.name = format!("{} renamed", d.definition.name);
            } else {
                changed.state.power_on = Some(true);
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
    json!({ "Records": records })
}
