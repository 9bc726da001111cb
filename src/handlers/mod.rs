//! Directive handlers: one module per directive, each from a typed request to a typed answer.

pub mod accept_grant;
pub mod auth;
pub mod control;
pub mod discovery;
pub mod ghost;
pub mod report_state;
pub mod thermostat;

use std::future::Future;
use std::time::Duration;

use crate::cloud::DeviceClouds;
use crate::deadline::Deadline;
use crate::error::SkillError;
use crate::gateway::{Gateway, GatewayRegion};
use crate::lwa::Lwa;

/// What the handlers use, built once at cold start.
#[derive(Debug)]
pub struct Services<S> {
    pub store: S,
    pub lwa: Lwa,
    /// For the DeleteReport of a ghost device.
    pub gateway: Gateway,
    /// Recorded with each new grant: where that customer's events go.
    pub event_region: GatewayRegion,
    /// Where commands go.
    pub clouds: DeviceClouds,
    /// How long a command waits for a device that must confirm, for a customer without an
    /// event grant.
    pub confirm_wait: Duration,
}

/// `work` (a read, or a write nobody was told of yet: safe to abandon), given up at the
/// directive's deadline as [`SkillError::OutOfTime`].
pub(crate) async fn in_time<T, E: Into<SkillError>>(
    deadline: &Deadline,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, SkillError> {
    deadline
        .bound(work)
        .await
        .map_err(|_| SkillError::OutOfTime)?
        .map_err(Into::into)
}
