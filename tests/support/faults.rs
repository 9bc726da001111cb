//! An HTTP server on 127.0.0.1 whose every answer is decided by a test's function, including
//! the answers wiremock cannot give: a connection dropped with no answer, and an answer that
//! comes only after the client has given up.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
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

type Handler = dyn Fn(&HeaderMap, &Bytes) -> Action + Send + Sync;

/// The server; it stops when dropped.
pub struct FaultServer {
    uri: String,
    task: tokio::task::JoinHandle<()>,
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
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let handler = handler.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            match handler(&parts.headers, &body) {
                                Action::Answer {
                                    status,
                                    body,
                                    delay,
                                } => {
                                    tokio::time::sleep(delay).await;
                                    let mut response =
                                        Response::new(Full::new(Bytes::from(body.to_string())));
                                    *response.status_mut() = status.try_into().unwrap();
                                    response.headers_mut().insert(
                                        "content-type",
                                        "application/json".parse().unwrap(),
                                    );
                                    Ok::<_, Dropped>(response)
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
        Self { uri, task }
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }
}
