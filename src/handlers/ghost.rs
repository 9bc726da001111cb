//! Ghost devices: Alexa still shows an endpoint the customer deleted (a DeleteReport was lost,
//! or the device was deleted before events were enabled). A directive for it is answered
//! `NO_SUCH_ENDPOINT`, and a DeleteReport for it is sent at once, so that the ghost goes away.

use std::time::Duration;

use tracing::{debug, info, warn};

use super::Services;
use crate::deadline::Deadline;
use crate::error::Chain;
use crate::grants;
use crate::ids::{EndpointId, UserId};
use crate::proactive::delivery::{Delivered, RetryPolicy, Sender};
use crate::proactive::reports::{Report, ReportKind};
use crate::store::{GrantStore, ViewStore};
use crate::view::AlexaView;

/// The most a ghost's DeleteReport may add to the directive's answer: Alexa waits 8 s in all.
pub const BUDGET: Duration = Duration::from_secs(3);

/// Sends the DeleteReport of `endpoint_id`. Best effort within [`BUDGET`] (and the directive's
/// `deadline`): one send (and one resend after a token refresh); if it fails, the ghost's next
/// directive tries again. Each request is bounded by that time instead of the whole being
/// cancelled from outside: a grant refresh that Login with Amazon has answered is written
/// whatever the time (its refresh token may have rotated).
pub async fn report_deleted<S: GrantStore + ViewStore>(
    services: &Services<S>,
    user_id: &UserId,
    endpoint_id: &EndpointId,
    deadline: &Deadline,
) {
    let deadline = Deadline::after(BUDGET).min(*deadline);
    let grant = match grants::usable(
        &services.store,
        &services.lwa,
        user_id,
        &services.clock,
        &deadline,
    )
    .await
    {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            debug!(
                %endpoint_id,
                "ghost endpoint, but the customer has no grant: no DeleteReport possible"
            );
            return;
        }
        Err(e) => {
            warn!(%endpoint_id, error = %Chain(&e), "ghost endpoint: cannot get the grant for its DeleteReport");
            return;
        }
    };
    // Alexa waits 8 s for the answer: no waiting resends here.
    let policy = RetryPolicy {
        resends: 0,
        ..RetryPolicy::default()
    };
    let view = AlexaView::new(&services.store, &services.clock);
    let sender = Sender {
        store: &services.store,
        lwa: &services.lwa,
        gateway: &services.gateway,
        policy: &policy,
        deadline,
        observer: &view,
        clock: &services.clock,
    };
    let report = Report {
        kind: ReportKind::Delete(vec![endpoint_id.to_owned()]),
        tag: None,
    };
    match sender.deliver(grant, vec![report]).await {
        Delivered::All | Delivered::Stopped => {
            info!(%endpoint_id, "ghost endpoint: DeleteReport sent")
        }
        Delivered::Undelivered(_) => warn!(
            %endpoint_id,
            "ghost endpoint: DeleteReport not delivered; its next directive tries again"
        ),
    }
}
