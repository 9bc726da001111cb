//! Throughput of the reconcile and stream Lambdas at scale (`make bench-scale`), never run by
//! `cargo test`: thousands of customers through a scheduled reconciliation pass, and bursts of
//! device changes through the stream function, each as the real release binary under the local
//! Lambda Runtime API (`alexa_smart_home_local::runtime_api`).
//!
//! DynamoDB is the stand-in of `common::standin`: each scenario is first run through it against
//! moto, which it records, then replayed with every answer `SCALE_DYNAMODB_MS` late (5 ms,
//! DynamoDB within its region), counting requests by operation and table. The event gateway is
//! a stand-in on 127.0.0.1 answering 202 after `SCALE_GATEWAY_MS` (50 ms). Grants expire in
//! years: no Login with Amazon call is made. No timing is asserted: the figures are printed,
//! and written as JSON (`SCALE_JSON`) for `scripts/cost-model.py`.

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use alexa_smart_home::alexa::{BearerToken, Secret};
use alexa_smart_home::clock::Clock;
use alexa_smart_home::config::Config;
use alexa_smart_home::device::Device;
use alexa_smart_home::device::properties::reportable;
use alexa_smart_home::gateway::GatewayRegion;
use alexa_smart_home::store::{GrantStore, NewGrant, TokenRecord, dynamo, tables};
use alexa_smart_home::view::state_digest;
use alexa_smart_home_local::runtime_api::RuntimeApi;
use alexa_smart_home_local::stream::record;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use bytes::Bytes;
use common::standin::{Count, Replay, StandIn};
use common::{account, cpu_ms, release_binary, repo, start_moto_server, vm_hwm_kb};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const TOKEN: &str = "scale-token";
/// The reconcile function's `Timeout` in template.yaml (Lambda's most): one invocation walks
/// every customer here when it can.
const RECONCILE_DEADLINE: Duration = Duration::from_secs(900);
/// The stream function's `Timeout` in template.yaml.
const STREAM_DEADLINE: Duration = Duration::from_secs(120);
/// The stream event source mapping's `BatchSize` in template.yaml.
const STREAM_BATCH_SIZE: usize = 100;
/// Warm invocations of each directive measured.
const DIRECTIVE_RUNS: usize = 100;

fn main() {
    // `cargo test --all-targets` runs benches once without `--bench`, as a smoke test: this
    // one needs release binaries and many minutes, so it only runs under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "scale bench: skipped (run it with `make bench-scale` or `cargo bench --bench scale`)"
        );
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

/// The bench's settings, from the environment.
struct Settings {
    customers: usize,
    devices: usize,
    dynamodb: Duration,
    gateway: Duration,
    stream_records: usize,
    stream_customers: usize,
    json: String,
    /// `SCALE_ONLY`: `reconcile`, `stream` or `directives` (while working on one of them).
    only: Option<String>,
    /// `SCALE_TRIGGER=operator`: the pass as an operator's `{"userIds": [every customer]}`
    /// rather than the schedule's event (the scheduled path's own reads left out), should the
    /// scheduled path ever be unable to run here.
    operator: bool,
}

impl Settings {
    fn from_env() -> Self {
        let number = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .map(|v| v.parse::<usize>().unwrap_or_else(|_| panic!("{name}={v}")))
                .unwrap_or(default)
        };
        // 1,000 customers, not more: recording each pass through moto (~7 ms per UpdateItem,
        // 40 of them per customer in a first pass) is most of the bench's time, and 2,000
        // customers would take ~27 minutes on a 2-core VM (from a run of 400).
        let customers = number("SCALE_CUSTOMERS", 1000).max(1);
        Self {
            customers,
            devices: number("SCALE_DEVICES", 20).max(1),
            dynamodb: Duration::from_millis(number("SCALE_DYNAMODB_MS", 5) as u64),
            gateway: Duration::from_millis(number("SCALE_GATEWAY_MS", 50) as u64),
            stream_records: number("SCALE_STREAM_RECORDS", 5000),
            stream_customers: number("SCALE_STREAM_CUSTOMERS", 500).clamp(1, customers),
            json: std::env::var("SCALE_JSON").unwrap_or_else(|_| repo("target/bench-scale.json")),
            only: std::env::var("SCALE_ONLY").ok(),
            operator: std::env::var("SCALE_TRIGGER").is_ok_and(|t| t == "operator"),
        }
    }

    fn runs(&self, section: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == section)
    }
}

/// A command's first line of output, or "" (dates and commits for the figures file).
fn output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .current_dir(repo(""))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default()
}

fn user(i: usize) -> String {
    format!("scale-user-{i:05}")
}

async fn run() {
    let settings = Settings::from_env();
    let started = Instant::now();
    let (moto_url, _moto) = start_moto_server("benches/common/moto_partition_query.py");
    let mut config = Config::local(&moto_url);
    config.devices_table = "scale-devices".into();
    config.tokens_table = "scale-tokens".into();
    config.grants_table = "scale-grants".into();
    config.alexa_view_table = "scale-alexa-view".into();
    let client = dynamo::client(&config).await.expect("client");
    tables::create(&client, &config).await.expect("tables");
    let store = dynamo::DynamoStore::new(client, &config);
    let accounts: Vec<Vec<Device>> = (0..settings.customers)
        .map(|i| account(&user(i), settings.devices))
        .collect();
    seed(&store, &config, &accounts).await;
    eprintln!(
        "seeded {} customers of {} devices in {:.0} s",
        settings.customers,
        settings.devices,
        started.elapsed().as_secs_f64()
    );

    let gateway = GatewayStandIn::start().await;
    let standin = StandIn::start(&moto_url, settings.dynamodb, Replay::InOrder).await;
    let roles = Roles::new(&config);
    let function = |binary: &str| {
        Function::new(&release_binary(binary), &config)
            .with("EVENT_GATEWAY_URL", gateway.url.clone())
            // Never asked (the grants outlive the bench), and never anywhere but here.
            .with("LWA_TOKEN_URL", "http://127.0.0.1:9/auth/o2/token")
    };
    let reconcile = function("reconcile").with("RECONCILE_SEGMENTS", "1");
    let stream = function("stream");
    let skill = function("skill");
    let concurrency = config.stream_concurrency;
    let mut figures = json!({
        "measured": {
            "date": output("date", &["-u", "+%Y-%m-%d"]),
            "commit": output("git", &["rev-parse", "--short", "HEAD"]),
            "host": format!("{} CPUs: {}", std::thread::available_parallelism().map_or(1, |n| n.get()), cpu_model()),
        },
        "settings": {
            "customers": settings.customers,
            "devicesPerCustomer": settings.devices,
            "dynamodbMs": settings.dynamodb.as_millis() as u64,
            "gatewayMs": settings.gateway.as_millis() as u64,
            "customerConcurrency": concurrency,
            "trigger": if settings.operator { "operator" } else { "schedule" },
            "streamBatchSize": STREAM_BATCH_SIZE,
        },
        "reconcile": [],
        "stream": [],
        "directives": [],
    });

    // Each scenario: recorded through moto (which it changes, as the real pass changes
    // DynamoDB), then replayed at the stand-in's latency and measured.
    let scenario = |name: &'static str, label: &'static str| (name, label);
    let mut rows = Vec::new();
    let event = if settings.operator {
        json!({ "userIds": (0..settings.customers).map(user).collect::<Vec<_>>() })
    } else {
        json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
    }
    .to_string();
    for (i, (name, label)) in [
        scenario(
            "first-pass",
            "first pass: Alexa knows nothing (every endpoint sent)",
        ),
        scenario("in-sync", "steady state: everything in sync (reads only)"),
        scenario("one-change", "one device of each customer changed state"),
    ]
    .into_iter()
    .enumerate()
    {
        if i == 2 {
            change_one_device(&store, &accounts).await;
        }
        // The first pass also makes the Alexa view the later sections read.
        if !settings.runs("reconcile") && i > 0 {
            break;
        }
        standin.forget();
        standin.recording(true);
        gateway.set_delay(Duration::ZERO);
        let recorded = pass(&reconcile, &standin.url, &event, settings.customers).await;
        eprintln!(
            "{name}: recorded through moto in {:.0} s ({} invocations)",
            recorded.wall.as_secs_f64(),
            recorded.invocations
        );
        if !settings.runs("reconcile") {
            break;
        }
        standin.replay();
        standin.reset_counts();
        gateway.set_delay(settings.gateway);
        gateway.reset();
        let measured = pass(&reconcile, &standin.url, &event, settings.customers).await;
        let row = PassRow::new(name, label, &measured, &standin, &gateway, &roles);
        figures["reconcile"]
            .as_array_mut()
            .expect("array")
            .push(row.json());
        rows.push(row);
    }

    let mut stream_rows = Vec::new();
    if settings.runs("stream") {
        let per_customer = settings.stream_records.div_ceil(settings.stream_customers);
        for (name, label, grouped) in [
            (
                "interleaved",
                "changes of many customers interleaved (about one per customer per batch)"
                    .to_owned(),
                false,
            ),
            (
                "grouped",
                format!("each customer's {per_customer} changes in a row"),
                true,
            ),
        ] {
            let batches = stream_batches(&accounts, &settings, grouped);
            standin.forget();
            standin.recording(true);
            gateway.set_delay(Duration::ZERO);
            let _ = burst(&stream, &standin.url, &batches).await;
            standin.replay();
            standin.reset_counts();
            gateway.set_delay(settings.gateway);
            gateway.reset();
            let measured = burst(&stream, &standin.url, &batches).await;
            let row = BurstRow::new(name, &label, &measured, &standin, &gateway, &roles);
            figures["stream"]
                .as_array_mut()
                .expect("array")
                .push(row.json());
            stream_rows.push(row);
        }
    }

    let mut directive_rows = Vec::new();
    if settings.runs("directives") {
        let read = |file: &str| {
            common::read(file)
                .replace("access-token-from-skill", TOKEN)
                .replace("\"living-room-light\"", "\"living-room-light-0000\"")
                .replace("\"hallway-thermostat\"", "\"hallway-thermostat-0004\"")
        };
        for (name, event) in [
            (
                format!("Discover ({} devices)", settings.devices),
                read("events/Discovery/Discovery.request.json"),
            ),
            (
                "TurnOn".to_owned(),
                read("events/PowerController/PowerController.TurnOn.request.json"),
            ),
            (
                "ReportState".to_owned(),
                read("events/Alexa/Alexa.ReportState.request.json"),
            ),
        ] {
            standin.forget();
            standin.recording(true);
            let _ = directive(&skill, &standin, &event, 5).await;
            standin.replay();
            let measured = directive(&skill, &standin, &event, DIRECTIVE_RUNS).await;
            let row = DirectiveRow::new(name, &measured, &standin, &roles);
            figures["directives"]
                .as_array_mut()
                .expect("array")
                .push(row.json());
            directive_rows.push(row);
        }
    }
    figures["itemBytes"] = json!(roles.item_sizes());

    print_tables(&settings, concurrency, &rows, &stream_rows, &directive_rows);
    if let Some(dir) = std::path::Path::new(&settings.json).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(
        &settings.json,
        serde_json::to_string_pretty(&figures).expect("json") + "\n",
    )
    .expect("SCALE_JSON");
    eprintln!(
        "figures written to {} ({:.0} s in all)",
        settings.json,
        started.elapsed().as_secs_f64()
    );
}

/// Devices (BatchWriteItem, as a device cloud's import would), a grant for each customer that
/// outlives the bench with no reconciliation asked for (a scheduled pass over established
/// customers), and a token for the first, whose directives are measured.
async fn seed(store: &dynamo::DynamoStore, config: &Config, accounts: &[Vec<Device>]) {
    let requests: Vec<WriteRequest> = accounts
        .iter()
        .flatten()
        .map(|d| {
            let item = serde_dynamo::to_item(d).expect("item");
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("put");
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    let writes = requests.chunks(25).map(|chunk| async move {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            let out = store
                .client()
                .batch_write_item()
                .request_items(&config.devices_table, pending)
                .send()
                .await
                .expect("seed devices");
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&config.devices_table))
                .unwrap_or_default();
        }
    });
    futures_util::stream::iter(writes)
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
    let years = Clock::system().now_ms() / 1000 + 10 * 365 * 24 * 3600;
    let grants = accounts.iter().map(|devices| async move {
        let user_id = devices[0].definition.user_id.clone();
        let granted_at = Clock::system().now_ms();
        store
            .put_grant(NewGrant {
                user_id: user_id.clone(),
                access_token: Secret::new("Atza|scale"),
                refresh_token: Secret::new("Atzr|scale"),
                expires_at: years,
                region: GatewayRegion::NorthAmerica,
                granted_at,
            })
            .await
            .expect("grant");
        store
            .clear_reconciliation(&user_id, granted_at)
            .await
            .expect("grant without a request");
    });
    futures_util::stream::iter(grants)
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
    store
        .put_token(
            &BearerToken::new(TOKEN),
            &TokenRecord {
                user_id: user(0).into(),
                expires_at: None,
            },
        )
        .await
        .expect("token");
}

/// The first device of each customer whose power state Alexa is told, turned the other way
/// (as the device cloud writes it).
async fn change_one_device(store: &dynamo::DynamoStore, accounts: &[Vec<Device>]) {
    let writes = accounts.iter().map(|devices| async move {
        let mut device = devices[powered(devices)[0]].clone();
        device.state.power_on = Some(!device.state.power_on.unwrap_or(false));
        store.put_device(&device).await.expect("change");
    });
    futures_util::stream::iter(writes)
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
}

/// The indices of the devices whose power state is reported to Alexa.
fn powered(devices: &[Device]) -> Vec<usize> {
    let found: Vec<usize> = devices
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            let mut toggled = (*d).clone();
            toggled.state.power_on = Some(!d.state.power_on.unwrap_or(false));
            state_digest(&reportable(d, 0)) != state_digest(&reportable(&toggled, 0))
        })
        .map(|(i, _)| i)
        .collect();
    assert!(!found.is_empty(), "no device reports its power state");
    found
}

/// A burst of `SCALE_STREAM_RECORDS` power changes over the first `SCALE_STREAM_CUSTOMERS`
/// customers, cut into batches as the event source mapping delivers them. Interleaved: one
/// change of each customer in turn (each batch holds ~one change of each of 100 customers).
/// Grouped: each customer's 10 changes in a row.
fn stream_batches(accounts: &[Vec<Device>], settings: &Settings, grouped: bool) -> Vec<String> {
    let customers = &accounts[..settings.stream_customers];
    let per_customer = settings.stream_records.div_ceil(customers.len());
    let powered: Vec<Vec<usize>> = customers.iter().map(|d| powered(d)).collect();
    let mut order: Vec<(usize, usize)> = Vec::with_capacity(settings.stream_records);
    if grouped {
        for u in 0..customers.len() {
            order.extend((0..per_customer).map(|k| (u, k)));
        }
    } else {
        for k in 0..per_customer {
            order.extend((0..customers.len()).map(|u| (u, k)));
        }
    }
    order.truncate(settings.stream_records);
    let records: Vec<Value> = order
        .into_iter()
        .enumerate()
        .map(|(n, (u, k))| {
            let device = &customers[u][powered[u][k % powered[u].len()]];
            let mut before = device.clone();
            before.state.power_on = Some(k % 2 == 0);
            let mut after = device.clone();
            after.state.power_on = Some(k % 2 != 0);
            record(1_000_000 + n as u64, Some(&before), Some(&after))
        })
        .collect();
    records
        .chunks(STREAM_BATCH_SIZE)
        .map(|batch| json!({ "Records": batch }).to_string())
        .collect()
}

/// A Lambda binary and the environment it starts with.
#[derive(Clone)]
struct Function {
    binary: String,
    env: Vec<(&'static str, String)>,
}

impl Function {
    fn new(binary: &str, config: &Config) -> Self {
        Self {
            binary: binary.to_owned(),
            env: vec![
                ("AWS_REGION", config.aws_region.clone()),
                ("DEVICES_TABLE", config.devices_table.clone()),
                ("TOKENS_TABLE", config.tokens_table.clone()),
                ("GRANTS_TABLE", config.grants_table.clone()),
                ("ALEXA_VIEW_TABLE", config.alexa_view_table.clone()),
            ],
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }

    /// A fresh process, once its init is done (it has asked for its first invocation).
    async fn start(&self, dynamodb: &str) -> Process {
        let api = RuntimeApi::start().await.expect("runtime api");
        let child = api
            .command(&self.binary, "scale")
            .env("DYNAMODB_ENDPOINT", dynamodb)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_LAMBDA_LOG_LEVEL", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let started = Instant::now();
        while api.first_poll().is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "no first poll");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Process { api, child }
    }
}

struct Process {
    api: RuntimeApi,
    child: Child,
}

impl Process {
    async fn invoke(&self, event: &str, deadline: Duration) -> Value {
        let answer = self
            .api
            .invoke_until(
                event.to_owned(),
                SystemTime::now() + deadline,
                deadline + Duration::from_secs(60),
            )
            .await
            .expect("an answer");
        let text = String::from_utf8_lossy(&answer.body);
        assert!(!answer.is_error, "{}: {text}", self.child.id());
        serde_json::from_slice(&answer.body).unwrap_or(Value::Null)
    }

    fn cpu_ms(&self) -> f64 {
        cpu_ms(self.child.id())
    }

    fn stop(mut self) -> u64 {
        let hwm = vm_hwm_kb(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        hwm
    }
}

/// One scheduled pass, by as many invocations of one warm process as it takes.
struct Pass {
    invocations: usize,
    wall: Duration,
    cpu_ms: f64,
    peak_rss_kb: u64,
    summary: BTreeMap<&'static str, u64>,
}

async fn pass(function: &Function, dynamodb: &str, event: &str, customers: usize) -> Pass {
    let process = function.start(dynamodb).await;
    let cpu_before = process.cpu_ms();
    let started = Instant::now();
    let mut summary: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut invocations = 0;
    let mut reached = 0usize;
    // A pass that stops early (its deadline, a segment done) is invoked again until every
    // customer was reached; one that reaches nobody ends it.
    while reached < customers && invocations < 50 {
        let answer = process.invoke(event, RECONCILE_DEADLINE).await;
        invocations += 1;
        let number = |name: &str| answer[name].as_u64().unwrap_or(0);
        let listed = |name: &str| answer[name].as_array().map_or(0, Vec::len) as u64;
        for (key, value) in [
            ("customers", number("customers")),
            ("inSync", number("inSync")),
            ("withoutGrant", number("withoutGrant")),
            ("upserts", number("upserts")),
            ("states", number("states")),
            ("deletes", number("deletes")),
            ("failed", listed("failed")),
            ("notReached", listed("notReached")),
        ] {
            *summary.entry(key).or_default() += value;
        }
        let now = (number("customers") as usize).saturating_sub(listed("notReached") as usize);
        if now == 0 {
            eprintln!("an invocation reached no customer: {answer}");
            break;
        }
        reached += now;
    }
    let wall = started.elapsed();
    let cpu_ms = process.cpu_ms() - cpu_before;
    Pass {
        invocations,
        wall,
        cpu_ms,
        peak_rss_kb: process.stop(),
        summary,
    }
}

/// A burst of batches through one process, one batch at a time, as one shard's event source
/// mapping delivers them.
struct Burst {
    records: usize,
    batches: usize,
    wall: Duration,
    batch_ms: Vec<f64>,
    cpu_ms: f64,
    failures: usize,
    peak_rss_kb: u64,
}

async fn burst(function: &Function, dynamodb: &str, batches: &[String]) -> Burst {
    let process = function.start(dynamodb).await;
    let cpu_before = process.cpu_ms();
    let started = Instant::now();
    let mut batch_ms = Vec::with_capacity(batches.len());
    let mut failures = 0;
    for batch in batches {
        let sent = Instant::now();
        let answer = process.invoke(batch, STREAM_DEADLINE).await;
        batch_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        failures += answer["batchItemFailures"].as_array().map_or(0, Vec::len);
    }
    let wall = started.elapsed();
    let cpu_ms = process.cpu_ms() - cpu_before;
    let records = batches
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b).expect("batch")["Records"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    Burst {
        records,
        batches: batches.len(),
        wall,
        batch_ms,
        cpu_ms,
        failures,
        peak_rss_kb: process.stop(),
    }
}

/// Warm invocations of one directive by one process (after 3 unmeasured ones, whose requests
/// are not counted either).
struct Directive {
    runs: usize,
    wall_ms: Vec<f64>,
    cpu_ms: f64,
}

async fn directive(function: &Function, dynamodb: &StandIn, event: &str, runs: usize) -> Directive {
    let process = function.start(&dynamodb.url).await;
    for _ in 0..3 {
        let _ = process.invoke(event, Duration::from_secs(8)).await;
    }
    dynamodb.reset_counts();
    let cpu_before = process.cpu_ms();
    let mut wall_ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let sent = Instant::now();
        let answer = process.invoke(event, Duration::from_secs(8)).await;
        wall_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert!(
            !answer.to_string().contains("ErrorResponse"),
            "a directive answered an error: {answer}"
        );
    }
    let cpu_ms = process.cpu_ms() - cpu_before;
    process.stop();
    Directive {
        runs,
        wall_ms,
        cpu_ms,
    }
}

/// The tables' names, and the role each plays (what the figures call them).
struct Roles {
    names: BTreeMap<String, &'static str>,
    /// Items read whole and their bytes, per role, over every measured scenario.
    items: std::sync::Mutex<BTreeMap<&'static str, (u64, u64)>>,
}

impl Roles {
    fn new(config: &Config) -> Self {
        Self {
            names: BTreeMap::from([
                (config.devices_table.clone(), "devices"),
                (config.tokens_table.clone(), "tokens"),
                (config.grants_table.clone(), "grants"),
                (config.alexa_view_table.clone(), "view"),
            ]),
            items: Default::default(),
        }
    }

    /// The stand-in's counts by role, per `per` (customers, records, invocations), for the
    /// figures file; the items read are kept for the tables' mean item sizes.
    fn dynamodb(&self, counts: &BTreeMap<(String, String), Count>, per: f64) -> Vec<Value> {
        let mut items = self.items.lock().expect("lock");
        counts
            .iter()
            .map(|((operation, table), c)| {
                let role = self.names.get(table).copied().unwrap_or("other");
                let seen = items.entry(role).or_default();
                seen.0 += c.whole_items;
                seen.1 += c.whole_item_bytes;
                json!({
                    "operation": operation,
                    "table": role,
                    "requests": c.requests as f64 / per,
                    "consistent": c.consistent as f64 / per,
                    "itemsRead": c.items as f64 / per,
                    "readUnits": c.read_units / per,
                    "itemsWritten": c.items_written as f64 / per,
                })
            })
            .collect()
    }

    /// Mean item size per table, as DynamoDB counts it, over the whole items the scenarios
    /// read.
    fn item_sizes(&self) -> BTreeMap<&'static str, u64> {
        self.items
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(role, (n, bytes))| (*role, bytes / n))
            .collect()
    }
}

/// "1 GetItem grants, 1 Query view" from figures of the form `Roles::dynamodb` makes.
fn round_trips(dynamodb: &[Value]) -> String {
    let list: Vec<String> = dynamodb
        .iter()
        .filter(|c| c["requests"].as_f64().unwrap_or(0.0) > 0.0)
        .map(|c| {
            format!(
                "{} {} {}",
                trim(c["requests"].as_f64().unwrap_or(0.0)),
                c["operation"].as_str().unwrap_or(""),
                c["table"].as_str().unwrap_or("")
            )
        })
        .collect();
    list.join(", ")
}

fn total_requests(dynamodb: &[Value]) -> f64 {
    dynamodb
        .iter()
        .map(|c| c["requests"].as_f64().unwrap_or(0.0))
        .sum()
}

/// A count per customer or record: whole numbers as such, others to 2 decimals (3 under 0.1:
/// a pass's own requests, spread over its customers).
fn trim(n: f64) -> String {
    if (n - n.round()).abs() < 0.0005 {
        format!("{}", n.round())
    } else if n < 0.1 {
        format!("{n:.3}")
    } else {
        format!("{n:.2}")
    }
}

struct PassRow {
    label: &'static str,
    json: Value,
}

impl PassRow {
    fn new(
        name: &'static str,
        label: &'static str,
        pass: &Pass,
        standin: &StandIn,
        gateway: &GatewayStandIn,
        roles: &Roles,
    ) -> Self {
        let customers = pass.summary.get("customers").copied().unwrap_or(0).max(1) as f64;
        let dynamodb = roles.dynamodb(&standin.count_map(), customers);
        let json = json!({
            "scenario": name,
            "label": label,
            "customers": customers,
            "invocations": pass.invocations,
            "wallS": pass.wall.as_secs_f64(),
            "cpuMs": pass.cpu_ms,
            "customersPerS": customers / pass.wall.as_secs_f64(),
            "wallMsPerCustomer": pass.wall.as_secs_f64() * 1000.0 / customers,
            "cpuMsPerCustomer": pass.cpu_ms / customers,
            "peakRssMb": pass.peak_rss_kb as f64 / 1024.0,
            "summary": pass.summary,
            "gatewayRequestsPerCustomer": gateway.requests() as f64 / customers,
            "gatewayEvents": gateway.events(),
            "dynamodb": dynamodb,
            "notRecorded": standin.misses(),
        });
        Self { label, json }
    }

    fn json(&self) -> Value {
        self.json.clone()
    }
}

struct BurstRow {
    label: String,
    json: Value,
}

impl BurstRow {
    fn new(
        name: &'static str,
        label: &str,
        burst: &Burst,
        standin: &StandIn,
        gateway: &GatewayStandIn,
        roles: &Roles,
    ) -> Self {
        let records = burst.records.max(1) as f64;
        let mean_batch_ms = burst.batch_ms.iter().sum::<f64>() / burst.batch_ms.len().max(1) as f64;
        let json = json!({
            "scenario": name,
            "label": label,
            "records": burst.records,
            "batches": burst.batches,
            "batchSize": STREAM_BATCH_SIZE,
            "wallS": burst.wall.as_secs_f64(),
            "meanBatchMs": mean_batch_ms,
            "maxBatchMs": burst.batch_ms.iter().copied().fold(0.0, f64::max),
            "recordsPerS": records / burst.wall.as_secs_f64(),
            "cpuMs": burst.cpu_ms,
            "cpuMsPerRecord": burst.cpu_ms / records,
            "peakRssMb": burst.peak_rss_kb as f64 / 1024.0,
            "batchItemFailures": burst.failures,
            "gatewayRequestsPerRecord": gateway.requests() as f64 / records,
            "gatewayEvents": gateway.events(),
            "dynamodb": roles.dynamodb(&standin.count_map(), records),
            "notRecorded": standin.misses(),
        });
        Self {
            label: label.to_owned(),
            json,
        }
    }

    fn json(&self) -> Value {
        self.json.clone()
    }
}

struct DirectiveRow {
    name: String,
    json: Value,
}

impl DirectiveRow {
    fn new(name: String, directive: &Directive, standin: &StandIn, roles: &Roles) -> Self {
        let runs = directive.runs.max(1) as f64;
        let mut sorted = directive.wall_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let json = json!({
            "name": name,
            "runs": directive.runs,
            "warmMedianMs": sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
            "warmMeanMs": directive.wall_ms.iter().sum::<f64>() / runs,
            "cpuMs": directive.cpu_ms / runs,
            "dynamodb": roles.dynamodb(&standin.count_map(), runs),
            "notRecorded": standin.misses(),
        });
        Self { name, json }
    }

    fn json(&self) -> Value {
        self.json.clone()
    }
}

fn print_tables(
    settings: &Settings,
    concurrency: usize,
    passes: &[PassRow],
    bursts: &[BurstRow],
    directives: &[DirectiveRow],
) {
    let latency = format!(
        "DynamoDB stand-in {} ms, gateway stand-in {} ms",
        settings.dynamodb.as_millis(),
        settings.gateway.as_millis()
    );
    if !passes.is_empty() {
        println!(
            "\n## Reconciliation: {} customers of {} devices, {} ({latency}, {concurrency} customers at a time)\n",
            settings.customers,
            settings.devices,
            if settings.operator {
                "one pass of an operator's event naming them all"
            } else {
                "one scheduled pass"
            }
        );
        println!(
            "| scenario | invocations | customers/s per invocation | CPU ms per customer | DynamoDB round trips per customer | gateway requests per customer | peak RSS |"
        );
        println!("|---|---|---|---|---|---|---|");
        for row in passes {
            let j = &row.json;
            let dynamodb = j["dynamodb"].as_array().cloned().unwrap_or_default();
            println!(
                "| {} | {} | {:.1} | {:.3} | {} ({}) | {} | {:.1} MB |",
                row.label,
                j["invocations"],
                j["customersPerS"].as_f64().unwrap_or(0.0),
                j["cpuMsPerCustomer"].as_f64().unwrap_or(0.0),
                trim(total_requests(&dynamodb)),
                round_trips(&dynamodb),
                trim(j["gatewayRequestsPerCustomer"].as_f64().unwrap_or(0.0)),
                j["peakRssMb"].as_f64().unwrap_or(0.0),
            );
        }
        for row in passes {
            let j = &row.json;
            if j["notRecorded"].as_u64().unwrap_or(0) > 0 {
                println!(
                    "\n(!) {}: {} requests had no recorded answer",
                    row.label, j["notRecorded"]
                );
            }
            println!("\n{}: {}", row.label, j["summary"]);
        }
    }
    if !bursts.is_empty() {
        println!(
            "\n## Stream: {} records over {} customers, batches of {STREAM_BATCH_SIZE}, one at a time ({latency})\n",
            settings.stream_records, settings.stream_customers
        );
        println!(
            "| burst | records/s per invocation | mean batch | CPU ms per record | DynamoDB round trips per record | gateway requests per record | batch item failures |"
        );
        println!("|---|---|---|---|---|---|---|");
        for row in bursts {
            let j = &row.json;
            let dynamodb = j["dynamodb"].as_array().cloned().unwrap_or_default();
            println!(
                "| {} | {:.0} | {:.0} ms | {:.3} | {} ({}) | {} | {} |",
                row.label,
                j["recordsPerS"].as_f64().unwrap_or(0.0),
                j["meanBatchMs"].as_f64().unwrap_or(0.0),
                j["cpuMsPerRecord"].as_f64().unwrap_or(0.0),
                trim(total_requests(&dynamodb)),
                round_trips(&dynamodb),
                trim(j["gatewayRequestsPerRecord"].as_f64().unwrap_or(0.0)),
                j["batchItemFailures"],
            );
        }
    }
    if !directives.is_empty() {
        println!("\n## Directives, warm ({DIRECTIVE_RUNS} invocations each, {latency})\n");
        println!("| directive | median | CPU per invocation | DynamoDB round trips |");
        println!("|---|---|---|---|");
        for row in directives {
            let j = &row.json;
            let dynamodb = j["dynamodb"].as_array().cloned().unwrap_or_default();
            println!(
                "| {} | {:.1} ms | {:.2} ms | {} |",
                row.name,
                j["warmMedianMs"].as_f64().unwrap_or(0.0),
                j["cpuMs"].as_f64().unwrap_or(0.0),
                round_trips(&dynamodb),
            );
        }
    }
}

/// The event gateway's stand-in: 202 after a set delay, counting requests by event name.
struct GatewayStandIn {
    url: String,
    shared: Arc<GatewayState>,
}

#[derive(Default)]
struct GatewayState {
    delay_us: AtomicU64,
    requests: AtomicU64,
    events: std::sync::Mutex<BTreeMap<String, u64>>,
}

impl GatewayStandIn {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/v3/events", listener.local_addr().expect("addr"));
        let shared = Arc::new(GatewayState::default());
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| accept(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, shared }
    }

    fn set_delay(&self, delay: Duration) {
        self.shared
            .delay_us
            .store(delay.as_micros() as u64, Ordering::Relaxed);
    }

    fn reset(&self) {
        self.shared.requests.store(0, Ordering::Relaxed);
        self.shared.events.lock().expect("lock").clear();
    }

    fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    fn events(&self) -> BTreeMap<String, u64> {
        self.shared.events.lock().expect("lock").clone()
    }
}

async fn accept(
    state: Arc<GatewayState>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let name = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["event"]["header"]["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unreadable".into());
    state.requests.fetch_add(1, Ordering::Relaxed);
    *state.events.lock().expect("lock").entry(name).or_default() += 1;
    tokio::time::sleep(Duration::from_micros(
        state.delay_us.load(Ordering::Relaxed),
    ))
    .await;
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = hyper::StatusCode::ACCEPTED;
    Ok(response)
}
