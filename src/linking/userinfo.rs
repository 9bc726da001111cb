//! `userinfo`: an opaque token is shown to the identity provider's userinfo endpoint (OIDC's,
//! or Login with Amazon's `/user/profile`), whose answer names the customer.
//!
//! Answers are kept in memory by the token's SHA-256 (never the token), for a bounded time
//! and number of entries: a burst of directives costs one call, and a revoked token stops
//! working within the time configured.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use lru::LruCache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::{Answer, LinkingError, ProviderError, Rejection, UserinfoConfig};
use crate::alexa::BearerToken;
use crate::deadline::Deadline;
use crate::http::Http;
use crate::ids::UserId;

/// The most of an answer that is read: a profile is well under 2 KB.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The userinfo client and its cache, built once at cold start.
#[derive(Debug)]
pub struct Userinfo {
    http: Http,
    url: String,
    user_field: String,
    ttl: Duration,
    timeout: Duration,
    cache: Mutex<LruCache<[u8; 32], Cached>>,
    /// Held while asking, so that the directives of a burst that miss the cache together
    /// share one call.
    asking: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Cached {
    user_id: UserId,
    until: Instant,
}

impl Userinfo {
    pub fn new(config: &UserinfoConfig, http: Http) -> Self {
        Self {
            http,
            url: config.url.clone(),
            user_field: config.user_field.clone(),
            ttl: config.cache_ttl,
            timeout: config.timeout,
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(config.cache_entries).unwrap_or(NonZeroUsize::MIN),
            )),
            asking: tokio::sync::Mutex::new(()),
        }
    }

    /// The customer whose token this is, from the cache or the provider.
    pub async fn customer(
        &self,
        token: &BearerToken,
        deadline: &Deadline,
    ) -> Result<UserId, LinkingError> {
        let key: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        if let Some(user) = self.cached(&key) {
            return Ok(user);
        }
        let _asking = deadline
            .bound(self.asking.lock())
            .await
            .map_err(|_| LinkingError::Unavailable(ProviderError::OutOfTime))?;
        // Another directive may have asked for the same token while this one waited.
        if let Some(user) = self.cached(&key) {
            return Ok(user);
        }
        let user = self.ask(token, deadline).await?;
        if !self.ttl.is_zero() {
            let entry = Cached {
                user_id: user.clone(),
                until: Instant::now() + self.ttl,
            };
            self.lock().put(key, entry);
        }
        Ok(user)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<[u8; 32], Cached>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<UserId> {
        let mut cache = self.lock();
        match cache.get(key) {
            Some(entry) if entry.until > Instant::now() => Some(entry.user_id.clone()),
            Some(_) => {
                cache.pop(key);
                None
            }
            None => None,
        }
    }

    async fn ask(&self, token: &BearerToken, deadline: &Deadline) -> Result<UserId, LinkingError> {
        let answer = super::get(
            &self.http,
            &self.url,
            Some(token),
            self.timeout,
            deadline,
            BODY_LIMIT,
        )
        .await
        .map_err(LinkingError::Unavailable)?;
        match answer.status {
            200..=299 => {
                // A 200 without the field is the configuration's fault, not the customer's.
                let body: Map<String, Value> =
                    serde_json::from_slice(&answer.body).map_err(|_| {
                        LinkingError::Unavailable(ProviderError::Unparsable("not a JSON object"))
                    })?;
                super::user_id(body.get(&self.user_field)).ok_or(LinkingError::Unavailable(
                    ProviderError::Unparsable("no user id in the configured field"),
                ))
            }
            401 | 403 => Err(refused(&answer)),
            // Login with Amazon answers a bad token 400 invalid_token.
            400 if mentions(&answer, "invalid_token") => Err(refused(&answer)),
            status => Err(LinkingError::Unavailable(ProviderError::Status(status))),
        }
    }
}

/// A token the provider refused: expired if it says so (RFC 6750's `error_description`, in
/// the `WWW-Authenticate` challenge or the body), else not valid.
fn refused(answer: &Answer) -> LinkingError {
    if mentions(answer, "expired") {
        LinkingError::Expired
    } else {
        LinkingError::Invalid(Rejection::Unknown)
    }
}

fn mentions(answer: &Answer, word: &str) -> bool {
    let contains = |text: &str| text.to_ascii_lowercase().contains(word);
    answer.challenge.as_deref().is_some_and(contains)
        || std::str::from_utf8(&answer.body).is_ok_and(contains)
}
