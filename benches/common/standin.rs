//! A DynamoDB stand-in for the benches: while recording it forwards every request to the local
//! moto server and keeps the answer; then it replays those answers after a set latency, as
//! DynamoDB in AWS would answer (moto itself takes ~200 ms to build a 300-item Query answer, so
//! a figure against it is mostly moto). It counts the requests, by operation and table, and
//! what DynamoDB would bill for each read.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Which recorded answer a request is replayed with, when the same request was recorded more
/// than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The last one recorded: a process answering the same directive again and again.
    Latest,
    /// The first one at the first asking, the second at the second, …, then the last: a pass
    /// replayed as it was recorded, where the same read can be answered differently before
    /// and after a write (a segment claimed, then done).
    InOrder,
}

/// The stand-in; it stops when the bench process ends.
pub struct StandIn {
    pub url: String,
    shared: Arc<Shared>,
}

/// A recorded answer: status, content type, body, and what DynamoDB would bill for it.
#[derive(Clone)]
struct Recorded {
    status: u16,
    content_type: Option<String>,
    body: Bytes,
    billed: Billed,
}

/// What one request costs on DynamoDB's bill, as far as its request and answer tell.
#[derive(Clone, Copy, Default)]
struct Billed {
    /// Read request units of a read: its items' sizes summed, rounded up to 4 KB, halved for
    /// an eventually consistent read.
    read_units: f64,
    /// A strongly consistent read (billed whole; an eventually consistent one, half).
    consistent: bool,
    /// Items the answer holds.
    items: u64,
    /// Their size (DynamoDB's rule, not the JSON's) when the read asked for whole items: a
    /// projection is billed by the whole items all the same, so only these tell their size.
    whole_items: u64,
    whole_item_bytes: u64,
    /// Items a write writes (each is at least 1 write request unit; more for items over 1 KB).
    items_written: u64,
}

/// Answers of one kind of request, in the order recorded, and the next one to replay.
#[derive(Default)]
struct Slot {
    answers: Vec<Recorded>,
    next: usize,
}

#[derive(Default)]
struct Answers {
    /// By the request itself (its target and its body, keys sorted).
    exact: HashMap<(String, Bytes), Slot>,
    /// By its shape: the body without `ExpressionAttributeValues`, for a request whose values
    /// change from one run to the next (a time, a write id, an owner) on the same item.
    shape: HashMap<(String, Bytes), Slot>,
    /// Writes by target, table and expressions, whatever their item: a recorded success of the
    /// same write stands in for one the recording never made.
    loose: HashMap<(String, String), Slot>,
}

/// Requests and what they cost, by operation and table.
#[derive(Debug, Default, Clone, Copy)]
pub struct Count {
    pub requests: u64,
    /// Of which strongly consistent reads.
    pub consistent: u64,
    /// Read request units as the answers' sizes say (a projection's answer is smaller than
    /// what DynamoDB bills: see `whole_item_bytes`).
    pub read_units: f64,
    /// Items the answers held.
    pub items: u64,
    /// Items read whole (no projection), and their size: the table's item size.
    pub whole_items: u64,
    pub whole_item_bytes: u64,
    pub items_written: u64,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    replay: Replay,
    recording: AtomicBool,
    latency_us: AtomicU64,
    /// Round trips a new connection costs before its first request is answered (TCP, TLS).
    connect_round_trips: AtomicU32,
    answers: Mutex<Answers>,
    counts: Mutex<BTreeMap<(String, String), Count>>,
    misses: AtomicUsize,
}

impl StandIn {
    /// Starts recording from `upstream` (moto); `latency` is what each replayed answer waits.
    pub async fn start(upstream: &str, latency: Duration, replay: Replay) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            replay,
            recording: AtomicBool::new(true),
            latency_us: AtomicU64::new(latency.as_micros() as u64),
            connect_round_trips: AtomicU32::new(0),
            answers: Mutex::default(),
            counts: Mutex::default(),
            misses: AtomicUsize::new(0),
        });
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let fresh = Arc::new(AtomicBool::new(true));
                    let service = hyper::service::service_fn(move |req| {
                        let first = fresh.swap(false, Ordering::Relaxed);
                        answer(state.clone(), req, first)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, shared }
    }

    /// Forwards to moto and records (`true`), or replays what was recorded (`false`).
    pub fn recording(&self, on: bool) {
        if !on {
            let mut answers = lock(&self.shared.answers);
            let answers = &mut *answers;
            let slots = answers.exact.values_mut().chain(answers.shape.values_mut());
            slots
                .chain(answers.loose.values_mut())
                .for_each(|s| s.next = 0);
        }
        self.shared.recording.store(on, Ordering::Relaxed);
    }

    /// Replays from the first recorded answers again (a pass replayed a second time).
    pub fn replay(&self) {
        self.recording(false);
    }

    /// Drops every recorded answer (before the next scenario's recording).
    pub fn forget(&self) {
        *lock(&self.shared.answers) = Answers::default();
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared
            .latency_us
            .store(latency.as_micros() as u64, Ordering::Relaxed);
    }

    /// Each new connection's first answer waits `n` more latencies: its TCP and TLS handshakes,
    /// which a plain-HTTP stand-in does not have (DynamoDB in AWS is HTTPS only).
    pub fn set_connect_round_trips(&self, n: u32) {
        self.shared.connect_round_trips.store(n, Ordering::Relaxed);
    }

    pub fn reset_counts(&self) {
        lock(&self.shared.counts).clear();
        self.shared.misses.store(0, Ordering::Relaxed);
    }

    /// Requests answered with no recorded answer (an error, which sends the function down
    /// another path than the one measured).
    pub fn misses(&self) -> usize {
        self.shared.misses.load(Ordering::Relaxed)
    }

    /// Requests since the last reset, by (operation, table).
    pub fn count_map(&self) -> BTreeMap<(String, String), Count> {
        lock(&self.shared.counts).clone()
    }

    /// The requests since the last reset: "2 × GetItem table, …".
    pub fn counts(&self) -> String {
        let counts = lock(&self.shared.counts);
        let mut list: Vec<String> = counts
            .iter()
            .map(|((op, table), c)| format!("{} × {op} {table}", c.requests))
            .collect();
        list.sort();
        let misses = self.misses();
        if misses > 0 {
            list.push(format!("({misses} not recorded)"));
        }
        list.join(", ")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn answer(
    state: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
    first_on_connection: bool,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let headers = req.headers().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or("").to_owned();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let table = request["TableName"].as_str().unwrap_or_default().to_owned();
    // The SDK writes maps (ExpressionAttributeNames, …) in each process's own hash order: the
    // same request is the same JSON with its keys sorted.
    let exact = (target.clone(), canonical(&request, &body));
    let recorded = if state.recording.load(Ordering::Relaxed) {
        let mut forward = state.http.post(&state.upstream).body(body.clone());
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                forward = forward.header(name, value);
            }
        }
        let upstream = forward.send().await.expect("moto answers");
        let status = upstream.status().as_u16();
        let content_type = upstream
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = upstream.bytes().await.unwrap_or_default();
        let recorded = Recorded {
            status,
            content_type,
            billed: billed(&operation, &request, &bytes),
            body: bytes,
        };
        let mut answers = lock(&state.answers);
        let push = |slot: &mut Slot| slot.answers.push(recorded.clone());
        push(answers.exact.entry(exact).or_default());
        push(answers.shape.entry(shape(&target, &request)).or_default());
        if let Some(key) = loose(&target, &operation, &request) {
            push(answers.loose.entry(key).or_default());
        }
        count(&state, &operation, &table, recorded.billed);
        Some(recorded)
    } else {
        // The network and DynamoDB's own time; a new connection's handshakes first.
        let latency = Duration::from_micros(state.latency_us.load(Ordering::Relaxed));
        let handshakes = if first_on_connection {
            state.connect_round_trips.load(Ordering::Relaxed)
        } else {
            0
        };
        tokio::time::sleep(latency * (1 + handshakes)).await;
        let mut answers = lock(&state.answers);
        let replay = state.replay;
        let found = answers
            .exact
            .get_mut(&exact)
            .map(|slot| take(slot, replay, false))
            .or_else(|| {
                answers
                    .shape
                    .get_mut(&shape(&target, &request))
                    .map(|slot| take(slot, replay, true))
            });
        // A state write carries its own time and write id, so it is never byte-identical to
        // the recorded one: a recorded success of the same expressions stands in for it (not
        // a conditional-check failure, nor the answer of the write that first creates a
        // device's state maps, whose expression differs and would send the function down
        // another path).
        found
            .or_else(|| {
                let key = loose(&target, &operation, &request)?;
                let slot = answers.loose.get(&key)?;
                slot.answers.iter().rev().find(|a| a.status == 200).cloned()
            })
            .inspect(|a| count(&state, &operation, &table, a.billed))
    };
    let Some(recorded) = recorded else {
        count(&state, &operation, &table, Billed::default());
        state.misses.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::new(Full::new(Bytes::from_static(
            b"{\"__type\":\"not recorded\"}",
        )));
        *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        return Ok(response);
    };
    let mut response = Response::builder().status(recorded.status);
    if let Some(ct) = recorded.content_type {
        response = response.header("content-type", ct);
    }
    Ok(response.body(Full::new(recorded.body)).expect("response"))
}

fn count(state: &Shared, operation: &str, table: &str, billed: Billed) {
    let mut counts = lock(&state.counts);
    let c = counts
        .entry((operation.to_owned(), table.to_owned()))
        .or_default();
    c.requests += 1;
    c.consistent += u64::from(billed.consistent);
    c.read_units += billed.read_units;
    c.items += billed.items;
    c.whole_items += billed.whole_items;
    c.whole_item_bytes += billed.whole_item_bytes;
    c.items_written += billed.items_written;
}

/// The answer a replayed request gets from the answers recorded for it. `prefer_success`: for
/// a request matched by its shape only, under [`Replay::Latest`], the last success rather than
/// the last answer.
fn take(slot: &mut Slot, replay: Replay, prefer_success: bool) -> Recorded {
    let last = slot.answers.len() - 1;
    match replay {
        Replay::InOrder => {
            let answer = slot.answers[slot.next.min(last)].clone();
            slot.next += 1;
            answer
        }
        Replay::Latest if prefer_success => slot
            .answers
            .iter()
            .rev()
            .find(|a| a.status == 200)
            .unwrap_or(&slot.answers[last])
            .clone(),
        Replay::Latest => slot.answers[last].clone(),
    }
}

/// A JSON body with every object's keys sorted (the body itself if it is not JSON).
fn canonical(request: &Value, body: &Bytes) -> Bytes {
    if request.is_null() {
        return body.clone();
    }
    Bytes::from(serde_json::to_vec(&sorted(request.clone())).unwrap_or_default())
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn shape(target: &str, request: &Value) -> (String, Bytes) {
    let mut request = request.clone();
    if let Some(map) = request.as_object_mut() {
        map.remove("ExpressionAttributeValues");
    }
    let body = Bytes::from(serde_json::to_vec(&sorted(request)).unwrap_or_default());
    (target.to_owned(), body)
}

fn loose(target: &str, operation: &str, request: &Value) -> Option<(String, String)> {
    if !matches!(operation, "UpdateItem" | "PutItem" | "DeleteItem") {
        return None;
    }
    let field = |name: &str| request[name].as_str().unwrap_or_default().to_owned();
    Some((
        target.to_owned(),
        [
            field("TableName"),
            field("UpdateExpression"),
            field("ConditionExpression"),
        ]
        .join("\n"),
    ))
}

/// What DynamoDB on demand bills for a request, from the request and moto's answer: reads by
/// the size of what they read (items summed per request, rounded up to 4 KB; half for an
/// eventually consistent read), writes by the items they write.
fn billed(operation: &str, request: &Value, answer: &[u8]) -> Billed {
    let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
    let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
    let items: Vec<&Value> = match operation {
        "GetItem" => answer.get("Item").into_iter().collect(),
        "Query" | "Scan" => answer["Items"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let item_bytes: u64 = items.iter().map(|i| item_size(i)).sum();
    let read_units = match operation {
        "GetItem" | "Query" | "Scan" => {
            // A read of nothing still costs one unit.
            let units = item_bytes.div_ceil(4096).max(1) as f64;
            if consistent { units } else { units / 2.0 }
        }
        _ => 0.0,
    };
    let items_written = match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => 1,
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .map(|tables| {
                tables
                    .values()
                    .filter_map(Value::as_array)
                    .map(|a| a.len() as u64)
                    .sum()
            })
            .unwrap_or(0),
        _ => 0,
    };
    let whole = request.get("ProjectionExpression").is_none();
    Billed {
        read_units,
        consistent: consistent && read_units > 0.0,
        items: items.len() as u64,
        whole_items: if whole { items.len() as u64 } else { 0 },
        whole_item_bytes: if whole { item_bytes } else { 0 },
        items_written,
    }
}

/// An item's size as DynamoDB counts it: each attribute's name and value (strings and binary
/// by their length, a number about one byte per two digits plus one, a map or list 3 bytes
/// plus one per element plus its elements).
fn item_size(item: &Value) -> u64 {
    item.as_object()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| name.len() as u64 + value_size(value))
                .sum()
        })
        .unwrap_or(0)
}

fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, |s| s.len() as u64),
        // Base64 in the JSON: three bytes per four characters.
        "B" => inner.as_str().map_or(0, |s| s.len() as u64 * 3 / 4),
        "N" => inner.as_str().map_or(0, number_size),
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => inner.as_array().map_or(0, |items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| match kind.as_str() {
                    "NS" => number_size(s),
                    _ => s.len() as u64,
                })
                .sum()
        }),
        "M" => {
            3 + inner.as_object().map_or(0, |m| {
                m.iter()
                    .map(|(k, v)| k.len() as u64 + value_size(v) + 1)
                    .sum()
            })
        }
        "L" => {
            3 + inner
                .as_array()
                .map_or(0, |l| l.iter().map(|v| value_size(v) + 1).sum())
        }
        _ => 0,
    }
}

fn number_size(n: &str) -> u64 {
    let digits = n
        .trim_start_matches('-')
        .replace('.', "")
        .trim_matches('0')
        .len() as u64;
    digits.div_ceil(2) + 1
}
