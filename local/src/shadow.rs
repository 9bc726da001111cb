//! AWS IoT Core device shadows on the local server (moto), and the topic rule that has no
//! local emulator: a simulated device reports to its shadow, and the shadow's
//! `update/documents` message (the shadow before and after the update, as AWS IoT publishes
//! it) is handed to the shadow bridge, as the rule would invoke the bridge Lambda.

use alexa_smart_home::bridge::{Bridge, Outcome, ShadowDocuments};
use alexa_smart_home::clock::Clock;
use alexa_smart_home::store::Store;
use aws_sdk_iotdataplane::Client;
use aws_sdk_iotdataplane::primitives::Blob;
use serde_json::{Value, json};

/// Failures of the local shadow loop.
#[derive(Debug, thiserror::Error)]
pub enum ShadowError {
    #[error("IoT {operation}: {message}")]
    Iot {
        operation: &'static str,
        message: String,
    },
    #[error("the shadow document is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the bridge failed: {0}")]
    Bridge(#[from] alexa_smart_home::store::StoreError),
}

/// The shadows of the local server, with the bridge their documents go to.
pub struct LocalShadows<S> {
    endpoint: String,
    client: Client,
    bridge: Bridge<S>,
}

impl<S: Store> LocalShadows<S> {
    pub fn new(endpoint: &str, sdk: &aws_config::SdkConfig, store: S) -> Self {
        let config = aws_sdk_iotdataplane::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            client: Client::from_conf(config),
            bridge: Bridge::new(store),
        }
    }

    pub fn bridge(&self) -> &Bridge<S> {
        &self.bridge
    }

    /// Registers a thing (the control-plane `CreateThing`, which moto serves without checking
    /// the request's signature; an existing thing is left as it is).
    pub async fn create_thing(&self, name: &str) -> Result<(), ShadowError> {
        let answer = reqwest::Client::new()
            .post(format!("{}/things/{name}", self.endpoint))
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/iot/aws4_request, SignedHeaders=host, Signature=local")
            .json(&json!({}))
            .send()
            .await
            .map_err(|e| ShadowError::Iot {
                operation: "CreateThing",
                message: e.to_string(),
            })?;
        if answer.status().is_success() || answer.status().as_u16() == 409 {
            Ok(())
        } else {
            Err(ShadowError::Iot {
                operation: "CreateThing",
                message: format!("answered {}", answer.status()),
            })
        }
    }

    /// The whole shadow document, or `None` if the thing has no shadow yet.
    pub async fn shadow(
        &self,
        thing: &str,
        shadow: Option<&str>,
    ) -> Result<Option<Value>, ShadowError> {
        match self
            .client
            .get_thing_shadow()
            .thing_name(thing)
            .set_shadow_name(shadow.map(str::to_owned))
            .send()
            .await
        {
            Ok(out) => Ok(out
                .payload
                .map(|p| serde_json::from_slice(p.as_ref()))
                .transpose()?),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ShadowError::Iot {
                operation: "GetThingShadow",
                message: aws_sdk_iotdataplane::error::DisplayErrorContext(e).to_string(),
            }),
        }
    }

    /// The shadow's `desired` state.
    pub async fn desired(&self, thing: &str, shadow: Option<&str>) -> Result<Value, ShadowError> {
        Ok(self
            .shadow(thing, shadow)
            .await?
            .and_then(|s| s.pointer("/state/desired").cloned())
            .unwrap_or(Value::Null))
    }

    /// The device reports `reported` (a map of the devices table's state fields) to its shadow;
    /// the rule then hands the shadow's `update/documents` to the bridge.
    pub async fn report(
        &self,
        thing: &str,
        shadow: Option<&str>,
        reported: Value,
    ) -> Result<Outcome, ShadowError> {
        let previous = self.shadow(thing, shadow).await?;
        let payload = serde_json::to_vec(&json!({"state": {"reported": reported}}))?;
        self.client
            .update_thing_shadow()
            .thing_name(thing)
            .set_shadow_name(shadow.map(str::to_owned))
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| ShadowError::Iot {
                operation: "UpdateThingShadow",
                message: aws_sdk_iotdataplane::error::DisplayErrorContext(e).to_string(),
            })?;
        let current = self.shadow(thing, shadow).await?.unwrap_or(Value::Null);
        let topic = match shadow {
            None => format!("$aws/things/{thing}/shadow/update/documents"),
            Some(name) => format!("$aws/things/{thing}/shadow/name/{name}/update/documents"),
        };
        let timestamp = current.get("timestamp").cloned().unwrap_or(Value::Null);
        // What the template's rule adds: `topic() AS topic, timestamp() AS receivedAt`.
        let documents: ShadowDocuments = serde_json::from_value(json!({
            "topic": topic,
            "previous": previous,
            "current": current,
            "timestamp": timestamp,
            "receivedAt": Clock::system().now_ms(),
        }))?;
        Ok(self.bridge.handle(&documents).await?)
    }
}
