//! An HTTP server on 127.0.0.1 whose every answer is decided by a test's function, including
//! the answers wiremock cannot give: a connection dropped with no answer, an answer that
//! comes only after the client has given up, a body larger than any client should read, and
//! an answer given only after the test's own async work (a device cloud that writes the
//! devices table while it takes a command).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answers with `status` and a JSON body, after `delay`.
    Answer {
        status: u16,
        body: Value,
        delay: Duration,
    },
    /// Closes the connection without answering: the client sees the connection reset.
    Drop,
    /// Answers with `status` and a body of `bytes` bytes of JSON-ish filler, sent in chunks as
    /// the client reads them: how much of it was read shows in [`FaultServer::body_bytes_sent`].
    Huge { status: u16, bytes: u64 },
}

impl Action {
    pub fn answer(status: u16, body: Value) -> Self {
        Self::Answer {
            status,
            body,
            delay: Duration::ZERO,
        }
    }
}

/// Why a connection was dropped; hyper closes a connection whose service fails.
#[derive(Debug, thiserror::Error)]
#[error("fault injected: connection dropped")]
struct Dropped;

/// The answer to one request, decided after whatever async work the test needs.
pub type Answer = Pin<Box<dyn Future<Output = Action> + Send>>;

type Handler = dyn Fn(HeaderMap, Bytes) -> Answer + Send + Sync;

/// The size of each chunk of a [`Action::Huge`] body.
const CHUNK: usize = 64 * 1024;

/// The server; it stops when dropped.
pub struct FaultServer {
    uri: String,
    task: tokio::task::JoinHandle<()>,
    sent: Arc<AtomicU64>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultServer {
    pub async fn start(
        handler: impl Fn(&HeaderMap, &Bytes) -> Action + Send + Sync + 'static,
    ) -> Self {
        Self::start_async(move |headers, body| {
            let action = handler(&headers, &body);
            Box::pin(async move { action })
        })
        .await
    }

    /// A server whose handler may await (a store write, a sleep) before it decides.
    pub async fn start_async(
        handler: impl Fn(HeaderMap, Bytes) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let handler: Arc<Handler> = Arc::new(handler);
        let sent = Arc::new(AtomicU64::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let counter = sent.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, counter) = (handler.clone(), counter.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (handler, counter) = (handler.clone(), counter.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            match handler(parts.headers, body).await {
                                Action::Answer {
                                    status,
                                    body,
                                    delay,
                                } => {
                                    tokio::time::sleep(delay).await;
                                    let body = Bytes::from(body.to_string());
                                    counter.fetch_add(body.len() as u64, Ordering::SeqCst);
                                    let mut response = Response::new(
                                        Full::new(body).map_err(|never| match never {}).boxed(),
                                    );
                                    *response.status_mut() = status.try_into().unwrap();
                                    response.headers_mut().insert(
                                        "content-type",
                                        "application/json".parse().unwrap(),
                                    );
                                    Ok::<_, Dropped>(response)
                                }
                                Action::Huge { status, bytes } => {
                                    let chunks = bytes.div_ceil(CHUNK as u64);
                                    let stream =
                                        futures_util::stream::iter(0..chunks).map(move |_| {
                                            counter.fetch_add(CHUNK as u64, Ordering::SeqCst);
                                            Ok::<_, Dropped>(hyper::body::Frame::data(Bytes::from(
                                                vec![b' '; CHUNK],
                                            )))
                                        });
                                    let mut response =
                                        Response::new(BodyExt::boxed(StreamBody::new(stream)));
                                    *response.status_mut() = status.try_into().unwrap();
                                    response.headers_mut().insert(
                                        "content-type",
                                        "application/json".parse().unwrap(),
                                    );
                                    Ok(response)
                                }
                                Action::Drop => Err(Dropped),
                            }
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { uri, task, sent }
    }

    /// How many body bytes the server has handed to its connections so far: for a huge body,
    /// about what the client read (plus what the sockets buffer).
    pub fn body_bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }
}
