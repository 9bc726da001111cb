//! Whole-process figures of the two Lambdas: cold start, peak memory, warm latency and CPU,
//! DynamoDB round trips, and stream throughput. Run by `make bench` (after
//! `cargo build --release --bins`), never by `cargo test`.
//!
//! The release binaries run under a minimal Lambda Runtime API on 127.0.0.1
//! (`alexa_smart_home_local::runtime_api`), against two DynamoDB servers:
//! - the local moto server (the real thing, but ~200 ms to build a 300-item Query answer, so
//!   every Discover figure against it is mostly moto);
//! - a stand-in that replays moto's recorded answers to the same requests after 1 ms, which
//!   shows the function's own cost (the budgets apply to it) and counts the requests
//!   (`common::standin`, which `benches/scale.rs` uses too).
//!
//! `LAMBDA_BENCH_SECTION=linking` runs only the account-linking comparison (`make
//! bench-linking`); `LAMBDA_BENCH_SECTION=regions` only a region stack's directives, every
//! DynamoDB request 80 ms away (`make bench-regions`).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alexa_smart_home::alexa::{BearerToken, Secret};
use alexa_smart_home::config::Config;
use alexa_smart_home::gateway::{Gateway, GatewayRegion};
use alexa_smart_home::lwa::Lwa;
use alexa_smart_home::proactive::delivery::RetryPolicy;
use alexa_smart_home::store::{GrantStore, NewGrant, TokenRecord, dynamo, tables};
use alexa_smart_home::stream::StreamProcessor;
use alexa_smart_home_local::idp::{self, IdentityProvider};
use alexa_smart_home_local::memory::MemoryStore;
use alexa_smart_home_local::runtime_api::RuntimeApi;
use common::standin::{Replay, StandIn};
use common::{account, cpu_ms, release_binary, repo, start_moto, vm_hwm_kb};

const USER: &str = "bench-user";
const TOKEN: &str = "bench-token";
const COLD_RUNS: usize = 10;
const WARM_RUNS: usize = 200;
/// Side by side: cold processes of each build, and rounds the warm invocations are split into.
const COMPARE_ROUNDS: usize = 20;
const WARM_ROUNDS: usize = 4;

fn main() {
    // `cargo test --all-targets` runs benches once without `--bench`, as a smoke test: this
    // one needs release binaries and minutes, so it only runs under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "lambda bench: skipped (run it with `make bench` or `cargo bench --bench lambda`)"
        );
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let (moto_url, _moto) = start_moto();
    let mut config = Config::local(&moto_url);
    config.devices_table = "bench-devices".into();
    config.tokens_table = "bench-tokens".into();
    config.grants_table = "bench-grants".into();
    config.alexa_view_table = "bench-alexa-view".into();
    let client = dynamo::client(&config).await.unwrap();
    tables::create(&client, &config).await.expect("tables");
    let store = dynamo::DynamoStore::new(client, &config);
    for d in account(USER, 300) {
        store.put_device(&d).await.expect("seed");
    }
    store
        .put_token(
            &BearerToken::new(TOKEN),
            &TokenRecord {
                user_id: USER.into(),
                expires_at: None,
            },
        )
        .await
        .expect("token");

    let discover = directive("events/Discovery/Discovery.request.json");
    let turn_on = directive("events/PowerController/PowerController.TurnOn.request.json")
        .replace("living-room-light\"", "living-room-light-0000\"");
    let batch = stream_batch();

    let skill = release_binary("skill");
    // LAMBDA_BENCH_SECTION=regions: a region stack's directives (make bench-regions).
    if std::env::var("LAMBDA_BENCH_SECTION").is_ok_and(|s| s == "regions") {
        regions(&store, &config, &moto_url, &skill, &discover, &turn_on).await;
        return;
    }
    // The network and DynamoDB's own time, roughly.
    let standin = StandIn::start(&moto_url, Duration::from_millis(1), Replay::Latest).await;
    let stream = release_binary("stream");
    let run = |binary: &str, event: &str| Run::new(binary, &config, event);
    let (discover_run, turn_on_run, batch_run) = (
        run(&skill, &discover),
        run(&skill, &turn_on),
        run(&stream, &batch),
    );
    // Account linking (docs/account-linking.md): the same Discover with a JWT of a stand-in
    // identity provider on 127.0.0.1, its key set fetched at the first directive (`jwt`) or
    // given in the configuration (`jwt, JWKS_JSON`). The token outlives any bench run.
    let idp = IdentityProvider::start(jsonwebtoken::Algorithm::RS256).await;
    let jwt = idp.sign(&idp.claims(USER, 24 * 3600));
    let jwt_discover = discover.replace(TOKEN, &jwt);
    let jwt_fetched = run(&skill, &jwt_discover)
        .with("ACCOUNT_LINKING", "jwt")
        .with("TOKEN_ISSUER", idp.issuer())
        .with("TOKEN_AUDIENCE", idp::AUDIENCE);
    let jwt_inline = run(&skill, &jwt_discover)
        .with("ACCOUNT_LINKING", "jwt")
        .with("TOKEN_ISSUER", idp.issuer())
        .with("TOKEN_AUDIENCE", idp::AUDIENCE)
        .with(
            "JWKS_JSON",
            serde_json::json!({"keys": [idp.signing_key().jwk()]}).to_string(),
        );
    let linking_cases = [
        (
            "skill: Discover (300 devices), jwt",
            [discover_run.clone(), jwt_fetched.clone()],
        ),
        (
            "skill: Discover (300 devices), jwt with JWKS_JSON",
            [discover_run.clone(), jwt_inline.clone()],
        ),
    ];
    // LAMBDA_BENCH_SECTION=linking: only the account-linking comparison (make bench-linking).
    let only_linking = std::env::var("LAMBDA_BENCH_SECTION").is_ok_and(|s| s == "linking");

    if !only_linking {
        println!(
            "\n## Whole process (release binaries, Runtime API on 127.0.0.1, 300-device account)\n"
        );
        println!(
            "| function | DynamoDB | init (exec → first `next`) median / max | exec → first answer median / max | peak RSS after 1st / after {WARM_RUNS} warm | warm median / p99 | CPU per warm invocation |"
        );
        println!("|---|---|---|---|---|---|---|");
    }
    // LAMBDA_BENCH_DYNAMODB=stand-in skips the moto rows (minutes of waiting on moto) when
    // only the function's own cost is wanted, e.g. while trying a profile setting.
    // The side-by-side modes (LAMBDA_BENCH_BASELINE, the linking section) run on the stand-in
    // only.
    let only = std::env::var("LAMBDA_BENCH_DYNAMODB").ok().or_else(|| {
        (std::env::var_os("LAMBDA_BENCH_BASELINE").is_some() || only_linking)
            .then(|| "stand-in".to_owned())
    });
    for (label, url) in [
        ("moto", moto_url.as_str()),
        ("stand-in", standin.url.as_str()),
    ] {
        if only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        let is_standin = label == "stand-in";
        if is_standin {
            // Record moto's answers to everything the measurements below will ask: the
            // baseline's requests too, which differ where the builds read differently (a
            // Query's Limit, say).
            standin.recording(true);
            let baseline = std::env::var("LAMBDA_BENCH_BASELINE").ok();
            let mut builds = vec![(skill.clone(), stream.clone())];
            if let Some(dir) = &baseline {
                builds.push((format!("{dir}/skill"), format!("{dir}/stream")));
            }
            for (skill, stream) in &builds {
                let _ = measure(&run(skill, &discover), &standin.url, 1, 3).await;
                let _ = measure(&run(skill, &turn_on), &standin.url, 1, 3).await;
                let _ = measure(&run(stream, &batch), &standin.url, 1, 1).await;
            }
            let _ = measure(&jwt_fetched, &standin.url, 1, 3).await;
            standin.recording(false);
            if let Some(baseline) = baseline {
                let pair = |binary: &str, event: &str| {
                    [
                        run(&format!("{baseline}/{binary}"), event),
                        run(&release_binary(binary), event),
                    ]
                };
                compare(
                    &format!("this build / baseline `{baseline}`"),
                    ["baseline", "this build"],
                    &standin.url,
                    &[
                        ("skill: Discover (300 devices)", pair("skill", &discover)),
                        ("skill: TurnOn", pair("skill", &turn_on)),
                        ("stream: 1,000 records / 100 users", pair("stream", &batch)),
                    ],
                )
                .await;
                return;
            }
            if only_linking {
                break;
            }
        }
        for (name, measured) in [
            ("skill: Discover", &discover_run),
            ("skill: TurnOn", &turn_on_run),
            ("stream: 1,000 records / 100 users, no grants", &batch_run),
        ] {
            let m = measure(measured, url, COLD_RUNS, WARM_RUNS).await;
            println!(
                "| {name} | {label} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.1} / {:.1} MB | {:.2} / {:.2} ms | {:.2} ms |",
                median(&m.init_ms),
                max(&m.init_ms),
                median(&m.first_ms),
                max(&m.first_ms),
                m.hwm_first_kb as f64 / 1024.0,
                m.hwm_warm_kb as f64 / 1024.0,
                median(&m.warm_ms),
                percentile(&m.warm_ms, 0.99),
                m.cpu_ms_per_warm,
            );
        }
    }

    let fetches_before = idp.key_set_fetches();
    compare(
        "account linking, `jwt` / `table`",
        ["table", "jwt"],
        &standin.url,
        &linking_cases,
    )
    .await;
    println!(
        "\n(the stand-in identity provider served its key set {} times: once per `jwt` process)",
        idp.key_set_fetches() - fetches_before
    );

    println!("\n## DynamoDB round trips (counted by the stand-in)\n");
    println!("| invocation | requests |\n|---|---|");
    for (name, measured) in [
        ("Discover of 300 devices", &discover_run),
        ("Discover of 300 devices, jwt", &jwt_fetched),
        ("TurnOn", &turn_on_run),
        ("stream batch, 100 users", &batch_run),
    ] {
        if only_linking && !name.starts_with("Discover") {
            continue;
        }
        standin.reset_counts();
        // One process, one invocation.
        let _ = measure(measured, &standin.url, 0, 0).await;
        println!("| {name} | {} |", standin.counts());
    }
    if only_linking {
        return;
    }

    println!(
        "\n## Stream throughput (in process, 1,000 records / 100 users, gateway answering 202 after 50 ms)\n"
    );
    let (concurrency, wall, requests) = stream_throughput().await;
    println!(
        "| concurrency | wall time | gateway requests |\n|---|---|---|\n| {concurrency} (default) | {:.0} ms | {requests} |",
        wall.as_secs_f64() * 1000.0
    );
}

/// A region stack's skill (eu-west-1, say) reads and writes the home tables in us-east-1, so
/// every DynamoDB request crosses regions. The same directives with the stand-in answering
/// after an in-region latency (5 ms) and after a cross-region one (`LAMBDA_BENCH_REGION_MS`,
/// 80 ms: eu-west-1 to us-east-1), each new connection paying its TCP and TLS handshakes first
/// (`LAMBDA_BENCH_CONNECT_RTTS`, 2 more round trips): cold and warm answer times, and the
/// round trips of each directive, against the 8 s Alexa waits.
async fn regions(
    store: &dynamo::DynamoStore,
    config: &Config,
    moto_url: &str,
    skill: &str,
    discover: &str,
    turn_on: &str,
) {
    const SMALL_USER: &str = "bench-user-20";
    const SMALL_TOKEN: &str = "bench-token-20";
    const IN_REGION: Duration = Duration::from_millis(5);
    const COLD: usize = 10;
    const WARM: usize = 50;
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let across = Duration::from_millis(number("LAMBDA_BENCH_REGION_MS", 80));
    let handshakes = number("LAMBDA_BENCH_CONNECT_RTTS", 2) as u32;
    for d in account(SMALL_USER, 20) {
        store.put_device(&d).await.expect("seed");
    }
    store
        .put_token(
            &BearerToken::new(SMALL_TOKEN),
            &TokenRecord {
                user_id: SMALL_USER.into(),
                expires_at: None,
            },
        )
        .await
        .expect("token");
    let cases = [
        ("Discover (300 devices)", Run::new(skill, config, discover)),
        (
            "Discover (20 devices)",
            Run::new(skill, config, &discover.replace(TOKEN, SMALL_TOKEN)),
        ),
        ("TurnOn", Run::new(skill, config, turn_on)),
    ];
    let standin = StandIn::start(moto_url, IN_REGION, Replay::Latest).await;
    standin.set_connect_round_trips(handshakes);
    for (_, run) in &cases {
        let _ = measure(run, &standin.url, 1, 3).await;
    }
    standin.recording(false);
    println!(
        "\n## A region stack's directives: every DynamoDB request {} ms away, a new connection {handshakes} round trips more ({COLD} cold processes, {WARM} warm invocations)\n",
        across.as_millis()
    );
    println!(
        "| directive | DynamoDB round trips | DynamoDB | exec → first answer, median / max | warm median / p99 | slowest, of Alexa's 8 s |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, run) in &cases {
        standin.set_latency(IN_REGION);
        standin.reset_counts();
        let _ = measure(run, &standin.url, 0, 0).await;
        let requests = standin.counts();
        for (place, latency) in [
            ("in region, 5 ms", IN_REGION),
            ("eu-west-1 → us-east-1", across),
        ] {
            standin.set_latency(latency);
            let m = measure(run, &standin.url, COLD, WARM).await;
            let slowest = max(&m.first_ms).max(max(&m.warm_ms));
            println!(
                "| {name} | {requests} | {place} | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {:.1} % |",
                median(&m.first_ms),
                max(&m.first_ms),
                median(&m.warm_ms),
                percentile(&m.warm_ms, 0.99),
                slowest / 8000.0 * 100.0,
            );
        }
    }
}

/// The sample directive with the bench account's token.
fn directive(file: &str) -> String {
    std::fs::read_to_string(repo(file))
        .expect(file)
        .replace("access-token-from-skill", TOKEN)
}

/// What one measured process is: a binary, the environment it starts with (the Lambda's:
/// tables and DynamoDB endpoint, plus anything the run sets), and the event it answers.
#[derive(Clone)]
struct Run {
    binary: String,
    env: Vec<(&'static str, String)>,
    event: String,
}

impl Run {
    fn new(binary: &str, config: &Config, event: &str) -> Self {
        Self {
            binary: binary.to_owned(),
            env: vec![
                ("AWS_REGION", config.aws_region.clone()),
                ("DEVICES_TABLE", config.devices_table.clone()),
                ("TOKENS_TABLE", config.tokens_table.clone()),
                ("GRANTS_TABLE", config.grants_table.clone()),
                ("ALEXA_VIEW_TABLE", config.alexa_view_table.clone()),
            ],
            event: event.to_owned(),
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }
}

/// The common 1,000-record batch as the stream function's event.
fn stream_batch() -> String {
    common::stream_batch().to_string()
}

struct Measured {
    init_ms: Vec<f64>,
    first_ms: Vec<f64>,
    hwm_first_kb: u64,
    hwm_warm_kb: u64,
    warm_ms: Vec<f64>,
    cpu_ms_per_warm: f64,
}

/// One fresh process answering `event` once: init (exec → first `next`), exec → first answer,
/// peak RSS; the process is handed back still running, for warm invocations.
struct Cold {
    init_ms: f64,
    first_ms: f64,
    hwm_kb: u64,
    child: Child,
    api: RuntimeApi,
}

async fn cold_once(run: &Run, dynamodb: &str) -> Cold {
    let api = RuntimeApi::start().await.expect("runtime api");
    let started = Instant::now();
    let child = spawn_with(&api, &run.binary, &[], run, dynamodb);
    let answer = api
        .invoke(run.event.clone(), Duration::from_secs(30))
        .await
        .expect("an answer");
    // A figure of the error path would be no figure of the function.
    let text = String::from_utf8_lossy(&answer.body);
    assert!(
        !answer.is_error && !text.contains("ErrorResponse"),
        "{}: {text}",
        run.binary
    );
    let first_poll = api.first_poll().expect("polled");
    Cold {
        init_ms: ms(first_poll - started),
        first_ms: ms(answer.at - started),
        hwm_kb: vm_hwm_kb(child.id()),
        child,
        api,
    }
}

impl Cold {
    /// `warm` more invocations: their latencies and the CPU time per invocation.
    async fn warm(&self, event: &str, warm: usize) -> (Vec<f64>, f64) {
        let pid = self.child.id();
        let cpu_before = cpu_ms(pid);
        let mut latencies = Vec::with_capacity(warm);
        for _ in 0..warm {
            let sent = Instant::now();
            let answer = self
                .api
                .invoke(event.to_owned(), Duration::from_secs(30))
                .await
                .expect("an answer");
            latencies.push(ms(answer.at - sent));
        }
        (latencies, (cpu_ms(pid) - cpu_before) / warm.max(1) as f64)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cold` fresh processes (after one discarded warm-up process) answering `event` once each;
/// then one process answering it `warm` more times.
async fn measure(run: &Run, dynamodb: &str, cold: usize, warm: usize) -> Measured {
    let mut m = Measured {
        init_ms: vec![],
        first_ms: vec![],
        hwm_first_kb: 0,
        hwm_warm_kb: 0,
        warm_ms: vec![],
        cpu_ms_per_warm: 0.0,
    };
    for round in 0..=cold {
        let process = cold_once(run, dynamodb).await;
        if round > 0 {
            m.init_ms.push(process.init_ms);
            m.first_ms.push(process.first_ms);
            m.hwm_first_kb = m.hwm_first_kb.max(process.hwm_kb);
        }
        if round == cold && warm > 0 {
            (m.warm_ms, m.cpu_ms_per_warm) = process.warm(&run.event, warm).await;
            m.hwm_warm_kb = vm_hwm_kb(process.child.id());
        }
        process.stop();
    }
    m
}

/// Side by side: on a shared, noisy machine only a comparison within one run means anything,
/// so the two runs' cold processes alternate (which one goes first alternates too), and the
/// warm runs are interleaved in rounds. Each case is two runs, `[a, b]`: a baseline build and
/// this one (`LAMBDA_BENCH_BASELINE=DIR`, a folder holding a baseline build's `skill` and
/// `stream`), or one build in two configurations. Prints medians and the ratio b / a.
async fn compare(title: &str, columns: [&str; 2], dynamodb: &str, cases: &[(&str, [Run; 2])]) {
    println!(
        "\n## Side by side: {title} (stand-in DynamoDB, {COMPARE_ROUNDS} alternating cold processes each, {WARM_RUNS} warm invocations each)\n"
    );
    let [a, b] = columns;
    println!("| invocation | figure | {a} | {b} | {b} / {a} |");
    println!("|---|---|---|---|---|");
    for (name, runs) in cases {
        for r in runs {
            assert!(
                std::path::Path::new(&r.binary).exists(),
                "{} missing",
                r.binary
            );
        }
        // [a, b]: init, first answer, peak RSS after the first answer.
        let mut init: [Vec<f64>; 2] = Default::default();
        let mut first: [Vec<f64>; 2] = Default::default();
        let mut hwm: [Vec<f64>; 2] = Default::default();
        // One discarded process each, so that both start from a warm page cache.
        for r in runs {
            cold_once(r, dynamodb).await.stop();
        }
        for round in 0..COMPARE_ROUNDS {
            for k in [round % 2, 1 - round % 2] {
                let process = cold_once(&runs[k], dynamodb).await;
                init[k].push(process.init_ms);
                first[k].push(process.first_ms);
                hwm[k].push(process.hwm_kb as f64 / 1024.0);
                process.stop();
            }
        }
        let mut warm_ms: [Vec<f64>; 2] = Default::default();
        let mut cpu: [Vec<f64>; 2] = Default::default();
        let processes = [
            cold_once(&runs[0], dynamodb).await,
            cold_once(&runs[1], dynamodb).await,
        ];
        for round in 0..WARM_ROUNDS {
            for k in [round % 2, 1 - round % 2] {
                let (latencies, cpu_per) = processes[k]
                    .warm(&runs[k].event, WARM_RUNS / WARM_ROUNDS)
                    .await;
                warm_ms[k].extend(latencies);
                cpu[k].push(cpu_per);
            }
        }
        let hwm_warm = processes
            .each_ref()
            .map(|p| vm_hwm_kb(p.child.id()) as f64 / 1024.0);
        for p in processes {
            p.stop();
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let rows: [(&str, [f64; 2], &str); 6] = [
            (
                "init (exec → first `next`), median",
                [median(&init[0]), median(&init[1])],
                "ms",
            ),
            (
                "exec → first answer, median",
                [median(&first[0]), median(&first[1])],
                "ms",
            ),
            (
                "peak RSS after the first answer, median",
                [median(&hwm[0]), median(&hwm[1])],
                "MB",
            ),
            ("peak RSS after the warm invocations", hwm_warm, "MB"),
            (
                "warm latency, median",
                [median(&warm_ms[0]), median(&warm_ms[1])],
                "ms",
            ),
            (
                "CPU per warm invocation, mean",
                [mean(&cpu[0]), mean(&cpu[1])],
                "ms",
            ),
        ];
        for (figure, [base, this], unit) in rows {
            println!(
                "| {name} | {figure} | {base:.2} {unit} | {this:.2} {unit} | {:.2}× |",
                this / base
            );
        }
        if let Some(counts) = instructions(runs, dynamodb).await {
            for (figure, [base, this]) in counts {
                println!(
                    "| {name} | {figure} | {:.2} M | {:.2} M | {:.3}× |",
                    base / 1e6,
                    this / 1e6,
                    this / base
                );
            }
        }
    }
}

/// Instructions each run executes (`valgrind --tool=callgrind`, which counts instructions,
/// not time: the same binary, inputs and answers give the same count, whatever else the shared
/// machine does): for init alone (until the first `next`), for init and the first answer, and
/// per warm invocation (11 invocations less 1, over 10). `None` without valgrind.
async fn instructions(runs: &[Run; 2], dynamodb: &str) -> Option<[(&'static str, [f64; 2]); 3]> {
    const WARM: usize = 10;
    let available = Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("valgrind not found: no instruction counts");
        return None;
    }
    let mut init = [0.0; 2];
    let mut cold = [0.0; 2];
    let mut warm = [0.0; 2];
    for (k, run) in runs.iter().enumerate() {
        let mut total = [0.0; 3];
        for (i, invocations) in [0, 1, 1 + WARM].into_iter().enumerate() {
            let api = RuntimeApi::start().await.expect("runtime api");
            let out = std::env::temp_dir().join(format!(
                "bench-callgrind-{}-{k}-{i}.out",
                std::process::id()
            ));
            let mut child = spawn_with(
                &api,
                "valgrind",
                &[
                    "--tool=callgrind",
                    &format!("--callgrind-out-file={}", out.display()),
                    &run.binary,
                ],
                run,
                dynamodb,
            );
            // No invocation: the process's init, up to its first poll for one.
            let started = Instant::now();
            while invocations == 0 && api.first_poll().is_none() {
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "no first poll"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for _ in 0..invocations {
                let answer = api
                    .invoke(run.event.clone(), Duration::from_secs(300))
                    .await
                    .expect("an answer under valgrind");
                assert!(!String::from_utf8_lossy(&answer.body).contains("ErrorResponse"));
            }
            // SIGTERM: valgrind writes its counts as the process ends.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
            let text = std::fs::read_to_string(&out).expect("callgrind's output");
            let _ = std::fs::remove_file(&out);
            total[i] = text
                .lines()
                .find_map(|l| l.strip_prefix("summary: "))
                .and_then(|n| n.trim().parse::<f64>().ok())
                .expect("a summary line");
        }
        init[k] = total[0];
        cold[k] = total[1];
        warm[k] = (total[2] - total[1]) / WARM as f64;
    }
    Some([
        ("instructions: init (exec → first `next`)", init),
        ("instructions: init and first answer", cold),
        ("instructions per warm invocation", warm),
    ])
}

/// `program args…` with `run`'s environment (its binary, or valgrind running it).
fn spawn_with(api: &RuntimeApi, program: &str, args: &[&str], run: &Run, dynamodb: &str) -> Child {
    api.command(program, "bench")
        .args(args)
        .env("DYNAMODB_ENDPOINT", dynamodb)
        .envs(run.env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_LOG_LEVEL", "error")
        // stdout holds the metric lines; errors show (a run once failed on an ErrorResponse
        // that nothing explained).
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &[f64]) -> f64 {
    percentile(v, 0.5)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * p).round() as usize]
}

/// The stream processor in process: 100 customers with grants, a gateway answering after 50 ms.
async fn stream_throughput() -> (usize, Duration, usize) {
    let gateway = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(202).set_delay(Duration::from_millis(50)))
        .mount(&gateway)
        .await;
    let store = MemoryStore::new();
    for u in 0..100 {
        store
            .put_grant(NewGrant {
                user_id: format!("stream-user-{u:03}").into(),
                access_token: Secret::new("Atza|bench"),
                refresh_token: Secret::new("Atzr|bench"),
                expires_at: i64::MAX,
                region: GatewayRegion::NorthAmerica,
                granted_at: alexa_smart_home::clock::Clock::system().now_ms(),
            })
            .await
            .expect("grant");
    }
    let http = alexa_smart_home::http::client().unwrap();
    let lwa = Lwa::new(http.clone(), "http://127.0.0.1:9".into(), None, None);
    let concurrency = Config::local("http://127.0.0.1:9").stream_concurrency;
    let processor = StreamProcessor::new(
        store,
        lwa,
        Gateway::new(http, Some(gateway.uri())),
        concurrency,
        RetryPolicy::default(),
    );
    let event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_str(&stream_batch()).expect("event");
    let started = Instant::now();
    let response = processor
        .process(event, tokio::time::Instant::now() + Duration::from_secs(60))
        .await;
    let wall = started.elapsed();
    assert!(response.batch_item_failures.is_empty());
    (
        concurrency,
        wall,
        gateway.received_requests().await.map_or(0, |r| r.len()),
    )
}
