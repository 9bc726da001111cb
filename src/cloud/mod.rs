//! The device-cloud port: how a planned command reaches the device, and what came back.
//!
//! The control handler plans a command into the state it asks for (`desired`, in the devices
//! table's field names) and hands it, with the device, to the adapter the device is routed to:
//!
//! - [`Adapter::Table`]: the devices table is the device cloud (the maker's cloud watches it).
//!   Writing the state is the delivery; the handler does it itself.
//! - [`Adapter::Iot`]: AWS IoT Core device shadows ([`iot`]); the device reports back through
//!   the shadow bridge (`crate::bridge`).
//! - [`Adapter::Https`]: the maker's own API ([`https`]), with a signed JSON command.
//!
//! Each adapter answers with a [`Delivery`] or a typed [`CloudError`], which `crate::error` maps
//! to Alexa's error types in the one place errors are mapped.

pub mod https;
pub mod iot;

use crate::alexa::Secret;
use crate::deadline::{Deadline, OutOfTime, WRITE_RESERVE};
pub use crate::device::Adapter;
use crate::device::{Device, DeviceState, PanelRefusal};

/// One command for one device, as the adapters send it.
#[derive(Debug, Clone, Copy)]
pub struct CloudCommand<'a> {
    pub device: &'a Device,
    /// The directive's interface, name and instance (`Alexa.LockController`, `Lock`, `None`).
    pub namespace: &'a str,
    pub name: &'a str,
    pub instance: Option<&'a str>,
    /// The state the command asks for, in the devices table's `state` field names.
    pub desired: &'a DeviceState,
    /// Unique per command: the shadow update's `clientToken`, the HTTPS command's `commandId`.
    pub command_id: &'a str,
    /// When it was issued, in ms since the Unix epoch: the signed request's timestamp.
    pub issued_at_ms: i64,
    /// The customer's PIN, for the maker's API to check (a panel's Disarm); never written to a
    /// table or a shadow.
    pub pin: Option<&'a Secret>,
}

/// What became of a command the adapter handed over.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The device did it; the values it reports now (at least those the command set).
    Confirmed(Box<DeviceState>),
    /// Handed over; the device reports its state later.
    Accepted {
        /// The device shadow's version after the desired state was written (IoT): a reported
        /// update with a higher version is the device's answer to this command or a later one.
        shadow_version: Option<u64>,
    },
}

/// Why a command did not reach the device. Each variant's doc names the Alexa error type it
/// is answered with (`crate::error`).
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// `ENDPOINT_UNREACHABLE`: the device, or its cloud, could not be reached in time.
    #[error("the device cannot be reached: {0}")]
    Unreachable(String),
    /// `ENDPOINT_BUSY`: the device is doing something else (or its cloud throttles).
    #[error("the device is busy")]
    Busy,
    /// `ENDPOINT_LOW_POWER` with `percentageState`.
    #[error("the device's battery is too low to act")]
    LowPower { percentage: Option<u8> },
    /// `NO_SUCH_ENDPOINT`: the device cloud does not know the device.
    #[error("the device cloud does not know the device")]
    NoSuchDevice,
    /// `INTERNAL_ERROR`: the device cloud refused the command itself (a configuration fault:
    /// a rejected signature, an unknown thing, a malformed command). Logged at ERROR.
    #[error("the device cloud refused the command: {0}")]
    Refused(String),
    /// An alarm panel's refusal, as the maker's API answered it (a wrong PIN, open zones):
    /// `Alexa.SecurityPanelController`'s error types.
    #[error(transparent)]
    Panel(PanelRefusal),
    /// `INTERNAL_ERROR`: the device cloud failed.
    #[error("the device cloud failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The adapters of one deployment, built once at cold start.
#[derive(Debug, Clone, Default)]
pub struct DeviceClouds {
    /// Where the commands of a device that does not say go.
    pub default: Adapter,
    pub iot: Option<iot::IotShadows>,
    pub https: Option<std::sync::Arc<https::HttpsApi>>,
    /// How long a remote adapter may take to take a command (`DEVICE_API_TIMEOUT_MS`).
    pub timeout: std::time::Duration,
}

impl DeviceClouds {
    /// The adapters the configuration provides. IoT needs the AWS SDK's configuration (`sdk`);
    /// without it, a device routed through IoT is answered `INTERNAL_ERROR` and logged.
    pub fn from_config(
        config: &crate::config::Config,
        sdk: Option<&aws_config::SdkConfig>,
    ) -> Result<Self, crate::http::ClientError> {
        let https = match (&config.device_api_url, &config.device_api_secret) {
            (Some(url), Some(secret)) => Some(std::sync::Arc::new(https::HttpsApi::new(
                url.clone(),
                secret.clone(),
                config.device_api_timeout,
            )?)),
            _ => None,
        };
        Ok(Self {
            default: config.device_cloud,
            iot: sdk.map(|sdk| {
                iot::IotShadows::from_sdk_config(
                    sdk,
                    config.iot_data_endpoint.as_deref(),
                    config.device_api_timeout,
                )
            }),
            https,
            timeout: config.device_api_timeout,
        })
    }

    /// The adapter a device's commands go through.
    pub fn adapter_for(&self, device: &Device) -> Adapter {
        device.definition.device_cloud.unwrap_or(self.default)
    }

    /// Hands a command to a remote adapter (`table` is not sent: the caller writes the table),
    /// within what `deadline` leaves after the write its answer leads to. A command that runs
    /// out of time is `Unreachable`: it may have reached the device, so it is never sent again.
    pub async fn send(
        &self,
        adapter: Adapter,
        command: &CloudCommand<'_>,
        deadline: &Deadline,
    ) -> Result<Delivery, CloudError> {
        let out_of_time = |_| {
            CloudError::Unreachable("no answer from the device cloud before the deadline".into())
        };
        match adapter {
            Adapter::Iot => match &self.iot {
                Some(iot) => {
                    let timeout = deadline
                        .timeout_for(self.timeout, WRITE_RESERVE)
                        .map_err(out_of_time)?;
                    tokio::time::timeout(timeout, iot.send(command))
                        .await
                        .map_err(|_| out_of_time(OutOfTime))?
                }
                None => Err(CloudError::Refused(
                    "the iot adapter is not configured".into(),
                )),
            },
            Adapter::Https => match &self.https {
                Some(api) => {
                    let timeout = deadline
                        .timeout_for(api.timeout(), WRITE_RESERVE)
                        .map_err(out_of_time)?;
                    api.send(command, timeout).await
                }
                None => Err(CloudError::Refused(
                    "the https adapter needs DEVICE_API_URL and DEVICE_API_SECRET".into(),
                )),
            },
            Adapter::Table => Err(CloudError::Refused(
                "the table adapter has nothing to send".into(),
            )),
        }
    }
}
