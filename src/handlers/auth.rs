//! From a directive's bearer token to the customer it belongs to.

use std::time::SystemTime;

use super::in_time;
use crate::alexa::BearerToken;
use crate::deadline::Deadline;
use crate::error::SkillError;
use crate::store::{Store, TokenHash};

/// The device cloud's user id for an account-linking token, with one read.
pub async fn user_for<S: Store>(
    store: &S,
    token: &BearerToken,
    deadline: &Deadline,
) -> Result<String, SkillError> {
    let record = in_time(deadline, store.token(&TokenHash::of(token)))
        .await?
        .ok_or(SkillError::UnknownToken)?;
    if record.is_expired(SystemTime::now()) {
        return Err(SkillError::ExpiredToken);
    }
    Ok(record.user_id)
}
