//! The `iot` adapter: a command becomes the `desired` state of the device's AWS IoT Core shadow.
//!
//! The shadow's field names are the devices table's `state` field names (`powerOn`,
//! `lockState`, `Fan.Speed`, …), so the device reads what the table would hold, and the bridge
//! (`crate::bridge`) writes what the device reports back into the table unchanged.

use aws_sdk_iotdataplane::Client;
use aws_sdk_iotdataplane::config::retry::RetryConfig;
use aws_sdk_iotdataplane::config::timeout::TimeoutConfig;
use aws_sdk_iotdataplane::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iotdataplane::operation::update_thing_shadow::UpdateThingShadowError;
use aws_sdk_iotdataplane::primitives::Blob;
use serde::Deserialize;
use serde_json::json;
use tracing::{debug, error};

use super::{CloudCommand, CloudError, Delivery};

/// The device shadows of one AWS account and region.
///
/// The client is built at the first command through IoT, once per process, as the LWA and
/// gateway client is: most invocations (Discover, ReportState, devices on other adapters)
/// never send one, and need not pay for building it.
#[derive(Debug, Clone)]
pub struct IotShadows {
    sdk: aws_config::SdkConfig,
    endpoint: Option<String>,
    /// The most a command may take (`DEVICE_API_TIMEOUT_MS`).
    timeout: std::time::Duration,
    client: std::sync::Arc<std::sync::OnceLock<Client>>,
}

/// The part of `UpdateThingShadow`'s answer the skill reads.
#[derive(Deserialize)]
struct Accepted {
    version: Option<u64>,
}

impl IotShadows {
    /// The shadows reached with the configuration the DynamoDB client was loaded from (same
    /// HTTP client and credentials), at the account's IoT data endpoint, a command taking at
    /// most `timeout`.
    pub fn from_sdk_config(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<&str>,
        timeout: std::time::Duration,
    ) -> Self {
        Self {
            sdk: sdk.clone(),
            endpoint: endpoint.map(str::to_owned),
            timeout,
            client: Default::default(),
        }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| {
            // One attempt, never retried by the SDK: an update whose answer was lost (a
            // timeout, a 5xx, a dropped connection) may have reached the shadow, and a second
            // desired write is a second command to the device (a scene run twice, a lock
            // cycled). The one attempt may take the whole command timeout.
            let timeouts = TimeoutConfig::builder()
                .connect_timeout(crate::http::CONNECT_TIMEOUT)
                .operation_attempt_timeout(self.timeout)
                .operation_timeout(self.timeout)
                .build();
            let mut builder = aws_sdk_iotdataplane::config::Builder::from(&self.sdk)
                .retry_config(RetryConfig::disabled())
                .timeout_config(timeouts);
            if let Some(endpoint) = &self.endpoint {
                builder = builder.endpoint_url(endpoint);
            }
            Client::from_conf(builder.build())
        })
    }

    pub async fn send(&self, command: &CloudCommand<'_>) -> Result<Delivery, CloudError> {
        let device = command.device;
        let payload = json!({
            "state": {"desired": command.desired},
            "clientToken": command.command_id,
        });
        let payload = serde_json::to_vec(&payload).map_err(|e| CloudError::Failed(e.into()))?;
        let answer = self
            .client()
            .update_thing_shadow()
            .thing_name(device.thing())
            .set_shadow_name(device.shadow_name.clone())
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(shadow_error)?;
        let version = answer
            .payload
            .as_ref()
            .map(|p| serde_json::from_slice::<Accepted>(p.as_ref()))
            .and_then(Result::ok)
            .and_then(|a| a.version);
        match version {
            Some(version) => debug!(thing = device.thing(), version, "desired state written"),
            // AWS IoT documents the version in every accepted update: without it the device's
            // answer is told from earlier reports by its new samples instead, and a report it
            // makes while its values already hold is missed.
            None => error!(
                thing = device.thing(),
                "AWS IoT accepted the update without a shadow version"
            ),
        }
        Ok(Delivery::Accepted {
            shadow_version: version,
        })
    }
}

fn shadow_error(error: SdkError<UpdateThingShadowError>) -> CloudError {
    use UpdateThingShadowError as E;
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            CloudError::Unreachable(format!("IoT data endpoint: {error}"))
        }
        SdkError::ServiceError(service) => match service.err() {
            // The item names a thing this account does not have (the operation's model lacks
            // the error AWS and moto answer with).
            e if e.code() == Some("ResourceNotFoundException") => {
                CloudError::Refused("the device's thing does not exist in AWS IoT".into())
            }
            E::UnauthorizedException(_) => CloudError::Refused(
                "not allowed to update the thing's shadow (IAM, ThingNamePrefix)".into(),
            ),
            E::ThrottlingException(_) => CloudError::Busy,
            E::ConflictException(_) => CloudError::Busy,
            E::ServiceUnavailableException(_) => {
                CloudError::Unreachable("AWS IoT is unavailable".into())
            }
            _ => CloudError::Failed(Box::new(error)),
        },
        _ => CloudError::Failed(Box::new(error)),
    }
}
