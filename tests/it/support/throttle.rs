//! A throttling proxy on 127.0.0.1 in front of the local DynamoDB server: it answers a settable
//! share of requests the way DynamoDB answers when a table's throughput is exceeded, forwards
//! the rest unchanged, and counts what it saw. It can also hold back the answers of requests it
//! forwarded: DynamoDB applied them, the client hears of it too late.
//!
//! The AWS SDK reads the `__type` after its `#` as the error code, and
//! `ProvisionedThroughputExceededException` is in aws-runtime's `THROTTLING_ERRORS`: the
//! standard retry strategy retries it (at most `max_attempts` attempts per call, 3 unless
//! configured, with exponential backoff from 1 s) while the retry quota lasts (a token bucket
//! of 500 per retry partition, 5 per throttling retry).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// DynamoDB's answer to a request over the table's provisioned throughput.
pub const THROTTLED_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;

/// Which requests are throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Every request is forwarded.
    Off,
    /// `per_mille` of the requests, but never the last attempt the client announces
    /// (`amz-sdk-request: attempt=N; max=N`): throttling that clears within the client's own
    /// retry budget, so that every call succeeds in the end.
    Transient { per_mille: u32 },
    /// `per_mille` of all requests, whatever the attempt: a call can run out of attempts.
    Sustained { per_mille: u32 },
}

/// What went wrong while forwarding; the client gets a 502 (which the SDK retries).
#[derive(Debug, thiserror::Error)]
enum ForwardError {
    #[error("reading the request body: {0}")]
    Body(#[from] hyper::Error),
    #[error("forwarding to the local DynamoDB server: {0}")]
    Upstream(#[from] reqwest::Error),
    #[error("building the answer: {0}")]
    Answer(#[from] hyper::http::Error),
}

/// Requests and throttled answers of one DynamoDB operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub throttled: u64,
}

/// What the proxy has seen so far.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: u64,
    pub throttled: u64,
    /// Requests that could not be forwarded (answered 502).
    pub upstream_errors: u64,
    /// Requests forwarded whose answers were held back.
    pub answered_late: u64,
    /// By `X-Amz-Target` operation (`GetItem`, `Query`, `UpdateItem`, …).
    pub by_operation: BTreeMap<String, Counts>,
    /// Attempts of each SDK call, by its `amz-sdk-invocation-id` (the same on every retry).
    pub attempts_by_call: HashMap<String, u32>,
    /// The most attempts per call any client announced (`amz-sdk-request: …; max=N`).
    pub announced_max_attempts: Option<u32>,
}

impl Stats {
    /// The most attempts any one call made.
    pub fn most_attempts_of_a_call(&self) -> u32 {
        self.attempts_by_call.values().copied().max().unwrap_or(0)
    }

    /// How many calls made 1, 2, … attempts.
    pub fn calls_by_attempts(&self) -> BTreeMap<u32, usize> {
        let mut histogram = BTreeMap::new();
        for attempts in self.attempts_by_call.values() {
            *histogram.entry(*attempts).or_default() += 1;
        }
        histogram
    }
}

#[derive(Default)]
struct Shared {
    per_mille: AtomicU32,
    spare_last_attempt: AtomicBool,
    /// Requests that could have been throttled: which of them are is decided by this count, so
    /// that exactly `per_mille` of them are, whatever order they arrive in.
    candidates: AtomicU64,
    late: Mutex<Option<Late>>,
    stats: Mutex<Stats>,
    /// The body of the last request forwarded.
    last_body: Mutex<Option<Bytes>>,
}

/// The next `remaining` requests of `operation` are answered after `delay`, or (`before`)
/// forwarded only after it.
struct Late {
    operation: String,
    remaining: u32,
    delay: Duration,
    before: bool,
}

/// The proxy; it stops when dropped.
pub struct ThrottlingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ThrottlingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ThrottlingProxy {
    /// Starts on a free port of 127.0.0.1, forwarding to `upstream` (e.g.
    /// `support::dynamo::endpoint()`), throttling nothing until told to.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        // No timeout of its own: the SDK's attempt timeout is the one under test.
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let upstream: Arc<str> = upstream.trim_end_matches('/').into();
        let state = shared.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, http, upstream) = (state.clone(), http.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (state, http, upstream) =
                            (state.clone(), http.clone(), upstream.clone());
                        async move { Ok::<_, Infallible>(state.answer(&http, &upstream, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The endpoint to give the DynamoDB client (`Config::dynamodb_endpoint`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The body of the last request forwarded (an IoT command's shadow document, say).
    pub fn last_body(&self) -> Option<Bytes> {
        lock(&self.shared.last_body).clone()
    }

    /// Changes which requests are throttled, effective from the next request.
    pub fn set(&self, throttle: Throttle) {
        let (per_mille, spare) = match throttle {
            Throttle::Off => (0, false),
            Throttle::Transient { per_mille } => (per_mille.min(1000), true),
            Throttle::Sustained { per_mille } => (per_mille.min(1000), false),
        };
        self.shared
            .spare_last_attempt
            .store(spare, Ordering::SeqCst);
        self.shared.per_mille.store(per_mille, Ordering::SeqCst);
    }

    /// The next `count` requests of `operation` (an `X-Amz-Target` operation such as
    /// `UpdateItem`) are forwarded at once, and their answers held back for `delay`.
    pub fn answer_late(&self, operation: &str, count: u32, delay: Duration) {
        *lock(&self.shared.late) = Some(Late {
            operation: operation.to_owned(),
            remaining: count,
            delay,
            before: false,
        });
    }

    /// The next `count` requests of `operation` are held for `delay` before they are
    /// forwarded: a client that gives up meanwhile (a cancelled call) leaves DynamoDB
    /// untouched, since the proxy drops a request whose connection is gone.
    pub fn forward_late(&self, operation: &str, count: u32, delay: Duration) {
        *lock(&self.shared.late) = Some(Late {
            operation: operation.to_owned(),
            remaining: count,
            delay,
            before: true,
        });
    }

    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Forgets what was counted so far (the throttle setting stays).
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }
}

impl Shared {
    async fn answer(
        &self,
        http: &reqwest::Client,
        upstream: &str,
        req: Request<Incoming>,
    ) -> Response<Full<Bytes>> {
        let operation = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
            .unwrap_or_else(|| String::from("<none>"));
        let call = req
            .headers()
            .get("amz-sdk-invocation-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (attempt, max_attempts) = announced_attempt(req.headers());
        let last_attempt = matches!((attempt, max_attempts), (Some(a), Some(m)) if a >= m);

        let throttle = !(last_attempt && self.spare_last_attempt.load(Ordering::SeqCst))
            && self.next_candidate_is_throttled();
        let late = if throttle {
            None
        } else {
            self.take_late(&operation)
        };
        {
            let mut stats = lock(&self.stats);
            stats.requests += 1;
            let counts = stats.by_operation.entry(operation).or_default();
            counts.requests += 1;
            if throttle {
                counts.throttled += 1;
                stats.throttled += 1;
            }
            if let Some(call) = call {
                *stats.attempts_by_call.entry(call).or_default() += 1;
            }
            if max_attempts > stats.announced_max_attempts {
                stats.announced_max_attempts = max_attempts;
            }
            if late.is_some() {
                stats.answered_late += 1;
            }
        }
        if throttle {
            return throttled();
        }
        if let Some((delay, true)) = late {
            tokio::time::sleep(delay).await;
        }
        match forward(http, upstream, req, &self.last_body).await {
            Ok(response) => {
                if let Some((delay, false)) = late {
                    tokio::time::sleep(delay).await;
                }
                response
            }
            Err(error) => {
                lock(&self.stats).upstream_errors += 1;
                let mut response = Response::new(Full::new(Bytes::from(error.to_string())));
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                response
            }
        }
    }

    /// The delay of this request (and whether it comes before forwarding), if it is one of the
    /// late ones.
    fn take_late(&self, operation: &str) -> Option<(Duration, bool)> {
        let mut late = lock(&self.late);
        let plan = late.as_mut()?;
        if plan.operation != operation || plan.remaining == 0 {
            return None;
        }
        plan.remaining -= 1;
        Some((plan.delay, plan.before))
    }

    /// Whether the next request that may be throttled is: request n is when
    /// ⌊(n+1)·p/1000⌋ > ⌊n·p/1000⌋, which spreads exactly p‰ of them evenly.
    fn next_candidate_is_throttled(&self) -> bool {
        let per_mille = u64::from(self.per_mille.load(Ordering::SeqCst));
        if per_mille == 0 {
            return false;
        }
        let n = self.candidates.fetch_add(1, Ordering::SeqCst);
        (n + 1) * per_mille / 1000 > n * per_mille / 1000
    }
}

/// `amz-sdk-request: attempt=2; max=3` (attempts count from 1).
fn announced_attempt(headers: &HeaderMap) -> (Option<u32>, Option<u32>) {
    let Some(value) = headers.get("amz-sdk-request").and_then(|v| v.to_str().ok()) else {
        return (None, None);
    };
    let field = |name: &str| {
        value.split(';').find_map(|pair| {
            let (key, number) = pair.trim().split_once('=')?;
            (key == name).then(|| number.parse::<u32>().ok()).flatten()
        })
    };
    (field("attempt"), field("max"))
}

fn throttled() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(THROTTLED_BODY.as_bytes())));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

/// Headers that belong to one connection, not to the message (RFC 9110 §7.6.1), and the
/// length, which the body sets again.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    headers
        .iter()
        .filter(|(name, _)| !hop_by_hop(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

async fn forward(
    http: &reqwest::Client,
    upstream: &str,
    req: Request<Incoming>,
    last_body: &Mutex<Option<Bytes>>,
) -> Result<Response<Full<Bytes>>, ForwardError> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    *lock(last_body) = Some(body.clone());
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let upstream_response = http
        .request(parts.method, format!("{upstream}{path}"))
        .headers(end_to_end(&parts.headers))
        .body(body)
        .send()
        .await?;
    let status = upstream_response.status();
    let response_headers = end_to_end(upstream_response.headers());
    let bytes = upstream_response.bytes().await?;
    let mut response = Response::builder().status(status).body(Full::new(bytes))?;
    *response.headers_mut() = response_headers;
    Ok(response)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
