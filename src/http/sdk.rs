//! The AWS SDK's HTTP client: the SDK's requests sent through reqwest, with the process's one
//! TLS configuration.
//!
//! The SDK's own default client (hyper-rustls) builds a TLS configuration of its own from the
//! system's CA bundle at its first request; with this one the process has one TLS stack and
//! loads no certificate file at all (see the module above). The SDK still does everything
//! else: signing, retries, attempt and operation timeouts, error classification.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The most of an AWS answer that is read: DynamoDB's largest (BatchGetItem) is 16 MB; more is
/// not DynamoDB.
const BODY_LIMIT: usize = 32 << 20;

/// An SDK HTTP client whose connections give up connecting after `connect_timeout`.
pub fn client(connect_timeout: Duration) -> Result<SharedHttpClient, super::ClientError> {
    let http = super::build(
        super::reqwest_builder().connect_timeout(connect_timeout),
        "AWS SDK",
    )?;
    Ok(SharedHttpClient::new(SdkHttp { http }))
}

#[derive(Debug, Clone)]
struct SdkHttp {
    http: reqwest::Client,
}

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            http: self.http.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct Connector {
    http: reqwest::Client,
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match self.to_reqwest(request) {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(e)),
        };
        let http = self.http.clone();
        HttpConnectorFuture::new(async move {
            let answer = http.execute(request).await.map_err(connector_error)?;
            let mut response = http::Response::builder().status(answer.status());
            if let Some(headers) = response.headers_mut() {
                *headers = answer.headers().clone();
            }
            let body = super::read_body(answer, BODY_LIMIT)
                .await
                .map_err(|e| match e {
                    super::BodyError::Read(e) => connector_error(e),
                    too_large => ConnectorError::other(too_large.into(), None),
                })?;
            let response = response
                .body(SdkBody::from(body))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

impl Connector {
    fn to_reqwest(&self, request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
        let request = request
            .try_into_http1x()
            .map_err(|e| ConnectorError::other(e.into(), None))?;
        let (parts, body) = request.into_parts();
        // DynamoDB's requests are JSON documents held in memory; nothing here streams.
        let body = body.bytes().map(<[u8]>::to_vec).ok_or_else(|| {
            ConnectorError::other("a streaming request body is not supported".into(), None)
        })?;
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|e| ConnectorError::other(e.into(), None))?;
        let mut builder = self
            .http
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body);
        if let Some(timeout) = self.read_timeout {
            builder = builder.timeout(timeout);
        }
        builder
            .build()
            .map_err(|e| ConnectorError::other(e.into(), None))
    }
}

/// What the SDK's retry policy needs to know: a timeout or an I/O failure (retried, as the
/// SDK's own client classifies them) or anything else.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
