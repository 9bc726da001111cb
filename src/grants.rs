//! Keeping a customer's Login with Amazon grant usable: refresh it before it expires, write
//! the refresh back without ever replacing a newer grant, and forget it once it is revoked.

use std::time::Duration;

use tracing::{debug, info};

use crate::clock::Clock;
use crate::deadline::Deadline;
use crate::ids::UserId;
use crate::lwa::{Lwa, LwaError};
use crate::metrics;
use crate::store::{Grant, GrantStore, StoreError, unix_seconds};

/// Access tokens expiring sooner than this are refreshed before use (LWA tokens live an hour;
/// Amazon's sample refreshes 5 minutes early).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// What a refresh found.
#[derive(Debug)]
pub enum Refreshed {
    /// A grant with a fresh access token: this refresh's, or a concurrent writer's newer one.
    Fresh(Grant),
    /// LWA answered `invalid_grant`: the customer disabled the skill. The grant is deleted.
    Revoked,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lwa(#[from] LwaError),
    #[error("no answer from storage before the deadline")]
    OutOfTime,
}

/// The customer's grant with an access token valid for at least [`REFRESH_MARGIN`], or `None`
/// when they have no grant (skill not enabled with events) or it was revoked. A refresh is
/// asked of LWA by `deadline`.
pub async fn usable<S: GrantStore>(
    store: &S,
    lwa: &Lwa,
    user_id: &UserId,
    clock: &Clock,
    deadline: &Deadline,
) -> Result<Option<Grant>, GrantError> {
    // A read: safe to abandon at the deadline (a refresh's write below never is).
    let Some(grant) = deadline
        .bound(store.grant(user_id))
        .await
        .map_err(|_| GrantError::OutOfTime)??
    else {
        return Ok(None);
    };
    let soon = unix_seconds(clock.now() + REFRESH_MARGIN);
    if grant.expires_at > soon {
        return Ok(Some(grant));
    }
    debug!(%user_id, "access token expires soon; refreshing");
    match refresh(store, lwa, grant, clock, deadline).await? {
        Refreshed::Fresh(grant) => Ok(Some(grant)),
        Refreshed::Revoked => Ok(None),
    }
}

/// Refreshes `grant` at LWA and stores the result with a conditional write on its version.
/// When another invocation refreshed first, its (newer) grant is used instead of this one.
///
/// LWA's request ends by `deadline`, less the time the write needs; the write itself is under
/// no timeout of ours. LWA may rotate the refresh token, and a write cut off after its answer
/// would lose the new one, and with it the customer's events: a caller must never cancel this
/// (it is bounded by the deadline it is given instead).
pub async fn refresh<S: GrantStore>(
    store: &S,
    lwa: &Lwa,
    grant: Grant,
    clock: &Clock,
    deadline: &Deadline,
) -> Result<Refreshed, GrantError> {
    match lwa.refresh(&grant.refresh_token, deadline).await {
        Ok(tokens) => {
            let expires_at = tokens.expires_at(clock.now());
            let refreshed = Grant {
                access_token: tokens.access_token,
                // LWA may omit the refresh token; the old one then stays valid.
                refresh_token: tokens
                    .refresh_token
                    .unwrap_or_else(|| grant.refresh_token.clone()),
                expires_at,
                version: grant.version + 1,
                ..grant.clone()
            };
            metrics::lwa_refresh("fresh");
            if store.replace_grant(&refreshed).await? {
                debug!(user_id = %grant.user_id, version = refreshed.version, "grant refreshed");
                return Ok(Refreshed::Fresh(refreshed));
            }
            debug!(user_id = %grant.user_id, "grant changed meanwhile; using the stored one");
            Ok(match store.grant(&grant.user_id).await? {
                Some(newer) => Refreshed::Fresh(newer),
                None => Refreshed::Revoked,
            })
        }
        Err(LwaError::InvalidGrant) => {
            metrics::lwa_refresh("revoked");
            if store.delete_grant(&grant.user_id, grant.version).await? {
                info!(user_id = %grant.user_id, "grant revoked (skill disabled); deleted");
                return Ok(Refreshed::Revoked);
            }
            // A new AcceptGrant arrived while this one was being refreshed: use that.
            Ok(match store.grant(&grant.user_id).await? {
                Some(newer) => Refreshed::Fresh(newer),
                None => Refreshed::Revoked,
            })
        }
        Err(e) => {
            metrics::lwa_refresh("failed");
            // Whatever the customer's devices do until the grant works again may not reach
            // Alexa: their reconciliation is asked for, and runs when the grant recovers (its
            // next successful refresh is a write the reconciler is triggered by).
            if let Err(e) = store
                .request_reconciliation(&grant.user_id, clock.now_ms())
                .await
            {
                tracing::warn!(error = %crate::chain::Chain(&e), "cannot request a reconciliation");
            }
            Err(e.into())
        }
    }
}
