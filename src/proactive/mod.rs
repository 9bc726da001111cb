//! Proactive events to Alexa's event gateway: building them within Alexa's limits
//! ([`reports`]) and delivering them as the gateway's error codes say ([`delivery`]). The
//! stream Lambda sends discovery changes and ChangeReports this way; the skill Lambda sends
//! the DeleteReport of a ghost device.
//!
//! This layer knows nothing of streams or reconciliation: a report carries its caller's tag
//! (the stream's record index), and what the gateway accepted is told to an [`Observer`] (the
//! Alexa view, which reconciliation compares with the devices table).

pub mod delivery;
pub mod reports;

use std::future::Future;

use crate::alexa::endpoint::Endpoint;
use crate::ids::UserId;
use reports::Report;

/// Told what is about to be sent and what the gateway accepted.
pub trait Observer: Sync {
    /// An AddOrUpdateReport of `endpoints` is about to be sent for `user_id`: known before the
    /// send, so that a 202 lost to a timeout cannot leave Alexa holding endpoints nobody knows
    /// it has.
    fn sending(&self, user_id: &UserId, endpoints: &[Endpoint]) -> impl Future<Output = ()> + Send;

    /// The gateway accepted `report` for `user_id`.
    fn accepted(&self, user_id: &UserId, report: &Report) -> impl Future<Output = ()> + Send;
}
