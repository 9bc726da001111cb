//! `Alexa` / `ReportState`: every reportable property of one endpoint, as last known.

use super::{Services, ghost, in_time};
use crate::alexa::BearerToken;
use crate::alexa::event::{self, Addressing, Empty, Message};
use crate::deadline::Deadline;
use crate::device::properties::reportable;
use crate::error::SkillError;
use crate::ids::EndpointId;
use crate::store::Store;

/// An unreachable device is still reported: its last known state, with connectivity
/// `UNREACHABLE` and the age of each value as its uncertainty.
pub async fn report_state<S: Store>(
    services: &Services<S>,
    to: &Addressing,
    endpoint_id: &EndpointId,
    token: &BearerToken,
    deadline: &Deadline,
) -> Result<Message<Empty>, SkillError> {
    let user_id = services.customer(token, deadline).await?;
    let Some(device) = in_time(deadline, services.store.device(&user_id, endpoint_id)).await?
    else {
        ghost::report_deleted(services, &user_id, endpoint_id, deadline).await;
        return Err(SkillError::NoSuchEndpoint);
    };
    let properties = reportable(&device, services.clock.now_ms());
    Ok(event::state_response(to, true, properties))
}
