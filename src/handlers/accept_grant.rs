//! `Alexa.Authorization` / `AcceptGrant`: the customer enabled the skill; keep the Login with
//! Amazon tokens that let the skill send events for them.

use tracing::info;

use super::Services;
use crate::alexa::event::{self, Empty, Message};
use crate::alexa::{Scope, Secret};
use crate::deadline::Deadline;
use crate::error::SkillError;
use crate::lwa::LwaError;
use crate::store::{GrantStore, NewGrant, TokenStore};

pub async fn accept_grant<S: TokenStore + GrantStore>(
    services: &Services<S>,
    code: &Secret,
    grantee: &Scope,
    deadline: &Deadline,
) -> Result<Message<Empty>, SkillError> {
    let user_id = services.customer(&grantee.token, deadline).await?;
    let (store, lwa, region) = (&services.store, &services.lwa, services.event_region);
    // The code is valid for minutes only: exchange it before anything else can fail. LWA's
    // answer is then stored under no timeout of ours (the exchange leaves time for it): the
    // code is spent, and a write cut off here would lose the grant.
    let tokens = lwa.exchange_code(code, deadline).await?;
    let expires_at = tokens.expires_at(services.clock.now());
    // Without a refresh token the grant would die within the hour.
    let refresh_token = tokens
        .refresh_token
        .ok_or(LwaError::Unexpected { status: 200 })?;
    let grant = store
        .put_grant(NewGrant {
            user_id,
            access_token: tokens.access_token,
            refresh_token,
            expires_at,
            region,
            granted_at: services.clock.now_ms(),
        })
        .await?;
    info!(user_id = %grant.user_id, %region, version = grant.version, "grant stored");
    Ok(event::accept_grant_response())
}
