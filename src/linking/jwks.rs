//! The issuer's JSON Web Key Set: turned into verification keys once per fetch, fetched by the
//! first directive that needs it (not at cold start), kept for the life of the process, and
//! fetched again when a token names a `kid` it does not hold (the issuer rotated its keys), at
//! most once per interval.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use tokio::time::Instant;
use tracing::{info, warn};

use super::{LinkingError, ProviderError, Rejection};
use crate::deadline::Deadline;
use crate::http::Http;
use crate::metrics;

/// The most of a key set that is read: providers publish a few keys of ~1.5 KB each.
pub const BODY_LIMIT: usize = 256 * 1024;
/// After a first fetch failed, the next one waits this long: the directives of a provider's
/// outage are answered at once instead of each waiting for its own timeout.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// One key of the set, ready to verify with.
#[derive(Debug)]
pub struct Key {
    decoding: DecodingKey,
    /// What it may verify: the key's own `alg`, or its type's algorithms, within the
    /// configured ones.
    algorithms: Vec<Algorithm>,
}

impl Key {
    pub fn verifies(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// The usable keys of one set, by `kid`.
#[derive(Debug, Default)]
pub struct Keys {
    by_kid: HashMap<String, Arc<Key>>,
}

/// A key set that gives no key to verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error("not a JSON Web Key Set")]
    NotAKeySet,
    #[error("no signing key with a kid for the configured algorithms")]
    NoUsableKey,
}

impl Keys {
    /// The keys of a JSON Web Key Set that can verify one of `accepted`. A key that is for
    /// encryption, symmetric, without a `kid`, of a type this build does not know, or
    /// malformed is left out (and the others kept): providers publish such keys beside
    /// their signing keys.
    pub fn parse(json: &[u8], accepted: &[Algorithm]) -> Result<Self, KeySetError> {
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<serde_json::Value>,
        }
        let set: Set = serde_json::from_slice(json).map_err(|_| KeySetError::NotAKeySet)?;
        let total = set.keys.len();
        let by_kid: HashMap<String, Arc<Key>> = set
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| usable(&jwk, accepted))
            .collect();
        if by_kid.is_empty() {
            return Err(KeySetError::NoUsableKey);
        }
        if by_kid.len() < total {
            info!(
                usable = by_kid.len(),
                total,
                "keys of the key set left out (not for signing with the configured algorithms)"
            );
        }
        Ok(Self { by_kid })
    }

    pub fn get(&self, kid: &str) -> Option<Arc<Key>> {
        self.by_kid.get(kid).cloned()
    }

    pub fn len(&self) -> usize {
        self.by_kid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }
}

/// `jwk` as a key by its `kid`, if it can verify one of `accepted`.
fn usable(jwk: &Jwk, accepted: &[Algorithm]) -> Option<(String, Arc<Key>)> {
    let kid = jwk.common.key_id.clone()?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
        AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
        // A symmetric key in a published set is a secret made public: never a verifier.
        _ => return None,
    };
    // An EC key verifies only the algorithm of its curve.
    let curve = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => return None,
        },
        _ => None,
    };
    let declared = match &jwk.common.key_algorithm {
        // `alg` names a signature algorithm this crate knows, or the key is not for signing.
        Some(alg) => Some(alg.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    let algorithms: Vec<Algorithm> = accepted
        .iter()
        .copied()
        .filter(|a| a.family() == family)
        .filter(|a| declared.is_none_or(|d| d == *a))
        .filter(|a| curve.is_none_or(|c| c == *a))
        .collect();
    if algorithms.is_empty() {
        return None;
    }
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    Some((
        kid,
        Arc::new(Key {
            decoding,
            algorithms,
        }),
    ))
}

/// The issuer's keys as this process holds them.
#[derive(Debug)]
pub struct KeySet {
    /// `None` for a set given in the configuration: never fetched.
    fetch_from: Option<(Http, String)>,
    accepted: Vec<Algorithm>,
    held: RwLock<Option<Arc<Keys>>>,
    /// Held while fetching, so that the directives that want a fetch at the same time share
    /// one; it keeps when the last fetches were made.
    fetching: tokio::sync::Mutex<History>,
    refetch_interval: Duration,
    timeout: Duration,
}

#[derive(Debug, Default)]
struct History {
    /// The last fetch made while a set was held (for an unknown `kid`), and whether it
    /// succeeded.
    last_refetch: Option<(Instant, bool)>,
    /// The last first fetch that failed.
    last_failure: Option<Instant>,
}

impl KeySet {
    /// A set fetched from `url` when first needed.
    pub fn remote(
        http: Http,
        url: String,
        accepted: Vec<Algorithm>,
        refetch_interval: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            fetch_from: Some((http, url)),
            accepted,
            held: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(History::default()),
            refetch_interval,
            timeout,
        }
    }

    /// The set given in the configuration, parsed now.
    pub fn fixed(json: &str, accepted: Vec<Algorithm>) -> Result<Self, KeySetError> {
        let keys = Keys::parse(json.as_bytes(), &accepted)?;
        Ok(Self {
            fetch_from: None,
            accepted,
            held: RwLock::new(Some(Arc::new(keys))),
            fetching: tokio::sync::Mutex::new(History::default()),
            refetch_interval: Duration::MAX,
            timeout: Duration::ZERO,
        })
    }

    fn held(&self) -> Option<Arc<Keys>> {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key with `kid`: from the set held, else from a set fetched now if a fetch is due.
    /// A `kid` that a set fetched within the refetch interval does not have is not valid;
    /// one that could not be looked for (the provider did not answer) is an outage.
    pub async fn key(&self, kid: &str, deadline: &Deadline) -> Result<Arc<Key>, LinkingError> {
        let unknown = || LinkingError::Invalid(Rejection::UnknownKey);
        if let Some(key) = self.held().and_then(|keys| keys.get(kid)) {
            return Ok(key);
        }
        let Some((http, url)) = &self.fetch_from else {
            return Err(unknown());
        };
        let mut history = deadline
            .bound(self.fetching.lock())
            .await
            .map_err(|_| LinkingError::Unavailable(ProviderError::OutOfTime))?;
        // Another directive may have fetched while this one waited.
        let held = self.held();
        if let Some(key) = held.as_ref().and_then(|keys| keys.get(kid)) {
            return Ok(key);
        }
        let now = Instant::now();
        if held.is_some() {
            if let Some((at, succeeded)) = history.last_refetch
                && now.duration_since(at) < self.refetch_interval
            {
                return Err(if succeeded {
                    unknown()
                } else {
                    LinkingError::Unavailable(ProviderError::RecentlyFailed)
                });
            }
            history.last_refetch = Some((now, false));
        } else if history
            .last_failure
            .is_some_and(|at| now.duration_since(at) < RETRY_AFTER_FAILURE)
        {
            return Err(LinkingError::Unavailable(ProviderError::RecentlyFailed));
        }
        match self.fetch(http, url, deadline).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *self.held.write().unwrap_or_else(PoisonError::into_inner) = Some(keys.clone());
                if let Some((_, succeeded)) = history.last_refetch.as_mut()
                    && held.is_some()
                {
                    *succeeded = true;
                }
                history.last_failure = None;
                keys.get(kid).ok_or_else(unknown)
            }
            Err(cause) => {
                if held.is_none() {
                    history.last_failure = Some(now);
                }
                Err(LinkingError::Unavailable(cause))
            }
        }
    }

    async fn fetch(
        &self,
        http: &Http,
        url: &str,
        deadline: &Deadline,
    ) -> Result<Keys, ProviderError> {
        let fetched = async {
            let answer = super::get(http, url, None, self.timeout, deadline, BODY_LIMIT).await?;
            if !(200..300).contains(&answer.status) {
                return Err(ProviderError::Status(answer.status));
            }
            Keys::parse(&answer.body, &self.accepted).map_err(|e| match e {
                KeySetError::NotAKeySet => ProviderError::Unparsable("not a JSON Web Key Set"),
                KeySetError::NoUsableKey => ProviderError::Unparsable("no usable signing key"),
            })
        }
        .await;
        match &fetched {
            Ok(keys) => {
                metrics::key_set_fetch("fetched");
                info!(keys = keys.len(), "key set fetched");
            }
            Err(e) => {
                metrics::key_set_fetch("failed");
                warn!(error = %crate::chain::Chain(e), "key set not fetched");
            }
        }
        fetched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RS256: [Algorithm; 1] = [Algorithm::RS256];

    #[test]
    fn a_set_without_a_usable_signing_key_is_refused() {
        assert_eq!(
            Keys::parse(b"{\"keys\": []}", &RS256).unwrap_err(),
            KeySetError::NoUsableKey
        );
        // An HMAC key in a published set is no key at all; nor is an encryption key.
        let oct = br#"{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}"#;
        assert_eq!(
            Keys::parse(oct, &RS256).unwrap_err(),
            KeySetError::NoUsableKey
        );
        let rsa = r#"{"kty": "RSA", "kid": "k", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB""#;
        let enc = format!(r#"{{"keys": [{rsa}, "use": "enc"}}]}}"#);
        assert_eq!(
            Keys::parse(enc.as_bytes(), &RS256).unwrap_err(),
            KeySetError::NoUsableKey
        );
        let sig =
            format!(r#"{{"keys": [{rsa}}}, {{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}}]}}"#);
        let keys = Keys::parse(sig.as_bytes(), &RS256).unwrap();
        assert_eq!(keys.len(), 1, "the signing key kept, the HMAC key left out");
        assert!(keys.get("k").unwrap().verifies(Algorithm::RS256));
        assert!(!keys.get("k").unwrap().verifies(Algorithm::HS256));
        assert_eq!(
            Keys::parse(b"[]", &RS256).unwrap_err(),
            KeySetError::NotAKeySet
        );
    }
}
