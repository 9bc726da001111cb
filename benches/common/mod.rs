//! What the benches share: accounts like the example one, a 1,000-record stream batch, the
//! local moto server, the DynamoDB stand-in, and a process's CPU time and peak memory.
#![allow(dead_code)]

pub mod standin;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// The binary measured: `LAMBDA_BENCH_BUILD/NAME` (`make bench` and `make bench-scale` build
/// it apart, as deployed), else `target/release/NAME`, which `cargo bench` itself rebuilds with
/// the dev-dependencies' features (a larger binary than the one deployed).
pub fn release_binary(name: &str) -> String {
    let path = match std::env::var("LAMBDA_BENCH_BUILD") {
        Ok(dir) => format!("{dir}/{name}"),
        Err(_) => repo(&format!("target/release/{name}")),
    };
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} missing: run `cargo build --release --bins` first"
    );
    path
}

/// The local moto server; stopped when dropped.
pub struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts moto (from the project's `.venv`, which `make test` and the bench targets install)
/// on a free port of 127.0.0.1, one request at a time.
pub fn start_moto() -> (String, Moto) {
    start_moto_server("scripts/moto_server_serial.py")
}

/// The same with the server of `script` (a path in the repository).
pub fn start_moto_server(script: &str) -> (String, Moto) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(repo(".venv/bin/python"))
        .args([
            repo(script).as_str(),
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (run `make test` or scripts/local-dynamodb.sh venv first)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (format!("http://127.0.0.1:{port}"), Moto(child))
}

/// A process's peak resident memory so far.
pub fn vm_hwm_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of a process so far.
pub fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|f| f.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks * 1000.0 / per_second
}
