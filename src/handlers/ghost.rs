//! Ghost devices: Alexa still shows an endpoint the customer deleted (a DeleteReport was lost,
//! or the device was deleted before events were enabled). A directive for it is answered
//! `NO_SUCH_ENDPOINT`, and a DeleteReport for it is sent at once, so that the ghost goes away.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::Services;
use crate::error::Chain;
use crate::grants;
use crate::http::REQUEST_TIMEOUT;
use crate::proactive::delivery::{RetryPolicy, Sender};
use crate::proactive::reports::{Report, ReportKind};
use crate::store::Store;

/// The most a ghost's DeleteReport may add to the directive's answer: Alexa waits 8 s in all.
pub const BUDGET: Duration = Duration::from_secs(3);

/// Sends the DeleteReport of `endpoint_id`. Best effort within [`BUDGET`]: one send (and one
/// resend after a token refresh); if it fails, the ghost's next directive tries again.
pub async fn report_deleted<S: Store>(services: &Services<S>, user_id: &str, endpoint_id: &str) {
    if tokio::time::timeout(BUDGET, send(services, user_id, endpoint_id))
        .await
        .is_err()
    {
        warn!(
            endpoint_id,
            "ghost endpoint: DeleteReport not sent in time; its next directive tries again"
        );
    }
}

async fn send<S: Store>(services: &Services<S>, user_id: &str, endpoint_id: &str) {
    let grant = match grants::usable(&services.store, &services.lwa, user_id).await {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            debug!(
                endpoint_id,
                "ghost endpoint, but the customer has no grant: no DeleteReport possible"
            );
            return;
        }
        Err(e) => {
            warn!(endpoint_id, error = %Chain(&e), "ghost endpoint: cannot get the grant for its DeleteReport");
            return;
        }
    };
    // Alexa waits 8 s for the answer: no waiting resends here.
    let policy = RetryPolicy {
        resends: 0,
        ..RetryPolicy::default()
    };
    let sender = Sender {
        store: &services.store,
        lwa: &services.lwa,
        gateway: &services.gateway,
        policy: &policy,
        // The budget above is what bounds the time; this only lets the first send start.
        deadline: Instant::now() + REQUEST_TIMEOUT + Duration::from_secs(1),
        // Only deletes.
        states: &BTreeMap::new(),
    };
    let report = Report {
        kind: ReportKind::Delete(vec![endpoint_id.to_owned()]),
        first_record: 0,
    };
    match sender.send_all(grant, vec![report]).await {
        None => info!(endpoint_id, "ghost endpoint: DeleteReport sent"),
        Some(_) => warn!(
            endpoint_id,
            "ghost endpoint: DeleteReport not delivered; its next directive tries again"
        ),
    }
}
