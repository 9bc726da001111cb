//! A minimal Lambda Runtime API on 127.0.0.1: the HTTP protocol `lambda_runtime` speaks
//! (`GET /2018-06-01/runtime/invocation/next`, `POST …/{id}/response`, `…/{id}/error`,
//! `…/init/error`), so that the real Lambda binaries can be run, tested and measured locally,
//! process start to answer.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// How an invocation ended.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The function's response (or error) body.
    pub body: Bytes,
    /// Whether the function reported an error instead of a response.
    pub is_error: bool,
    /// When the answer arrived.
    pub at: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the function reported an init error: {0}")]
    InitError(String),
}

#[derive(Default)]
struct Shared {
    /// Invocations not yet taken: id, event, and the deadline the function is given.
    queue: Mutex<VecDeque<(String, Bytes, SystemTime)>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
}

/// The Runtime API server; it stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
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

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// A command for a Lambda binary, with the environment Lambda gives a function.
    pub fn command(&self, binary: impl AsRef<std::ffi::OsStr>, function_name: &str) -> Command {
        let mut command = Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            );
        command
    }

    /// When the function first asked for an invocation (its init is over).
    pub fn first_poll(&self) -> Option<Instant> {
        *lock(&self.shared.first_poll)
    }

    /// Queues an invocation and waits for its answer. The function is given a minute.
    pub async fn invoke(
        &self,
        event: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Answer, RuntimeApiError> {
        self.invoke_until(event, SystemTime::now() + Duration::from_secs(60), timeout)
            .await
    }

    /// Queues an invocation whose deadline (`Lambda-Runtime-Deadline-Ms`) is `deadline`, as a
    /// function with that timeout would have, and waits up to `timeout` for its answer.
    pub async fn invoke_until(
        &self,
        event: impl Into<Bytes>,
        deadline: SystemTime,
        timeout: Duration,
    ) -> Result<Answer, RuntimeApiError> {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.waiting).insert(id.clone(), tx);
        lock(&self.shared.queue).push_back((id.clone(), event.into(), deadline));
        self.shared.queued.notify_one();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            _ => {
                lock(&self.shared.waiting).remove(&id);
                match lock(&self.shared.init_error).clone() {
                    Some(e) => Err(RuntimeApiError::InitError(e)),
                    None => Err(RuntimeApiError::Timeout(timeout)),
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn handle(
    state: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    if method == Method::GET && rest == "/invocation/next" {
        lock(&state.first_poll).get_or_insert_with(Instant::now);
        let (id, body, deadline) = loop {
            let notified = state.queued.notified();
            if let Some(next) = lock(&state.queue).pop_front() {
                break next;
            }
            notified.await;
        };
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let response = Response::builder()
            .header("Lambda-Runtime-Aws-Request-Id", &id)
            .header("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:000000000000:function:local",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000;Sampled=0",
            )
            .body(Full::new(body))
            .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR));
        return Ok(response);
    }
    if method != Method::POST {
        return Ok(status(StatusCode::NOT_FOUND));
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if rest == "/init/error" {
        *lock(&state.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
        return Ok(status(StatusCode::ACCEPTED));
    }
    let answer = rest
        .strip_prefix("/invocation/")
        .and_then(|r| r.split_once('/'))
        .filter(|(_, kind)| matches!(*kind, "response" | "error"));
    let Some((id, kind)) = answer else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    if let Some(tx) = lock(&state.waiting).remove(id) {
        let _ = tx.send(Answer {
            body,
            is_error: kind == "error",
            at: Instant::now(),
        });
    }
    Ok(status(StatusCode::ACCEPTED))
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
