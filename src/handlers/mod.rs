//! Directive handlers: one module per directive, each from a typed request to a typed answer.

pub mod accept_grant;
pub mod camera;
pub mod control;
pub mod discovery;
pub mod ghost;
pub mod light;
pub mod media;
pub mod report_state;
pub mod security_panel;
pub mod thermostat;

use std::future::Future;
use std::time::Duration;

use crate::clock::Clock;
use crate::cloud::DeviceClouds;
use crate::deadline::Deadline;
use crate::error::SkillError;
use crate::gateway::{Gateway, GatewayRegion};
use crate::ids::UserId;
use crate::linking::AccountLinking;
use crate::lwa::Lwa;

/// What the handlers use, built once at cold start.
#[derive(Debug)]
pub struct Services<S> {
    pub store: S,
    /// Which customer a bearer token belongs to.
    pub linking: AccountLinking,
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
    /// Where the handlers read the time of day.
    pub clock: Clock,
}

impl<S: crate::store::TokenStore> Services<S> {
    /// The customer `token` belongs to (every directive's first step).
    pub async fn customer(
        &self,
        token: &crate::alexa::BearerToken,
        deadline: &Deadline,
    ) -> Result<UserId, SkillError> {
        Ok(self
            .linking
            .customer(&self.store, token, &self.clock, deadline)
            .await?)
    }
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
