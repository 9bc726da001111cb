//! `jwt`: a JWT access token, verified against the issuer's key set, names the customer in
//! one of its claims.
//!
//! The checks, in order: the header's algorithm is one configured (never `none`, never HMAC)
//! and one its key may verify; the signature; `iss` exactly; `token_use` (a Cognito ID token
//! is refused); the audience (`aud`, or Cognito's `client_id` with `token_use` = `access`);
//! the required scopes; `nbf`; the customer claim; and last `exp`, so that only a token that
//! is valid in every other way is called expired (Alexa refreshes an expired token, which
//! cannot mend a wrong audience).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::jwks::{KeySet, KeySetError};
use super::{JwksSource, JwtConfig, LinkingError, Rejection};
use crate::alexa::BearerToken;
use crate::clock::Clock;
use crate::deadline::Deadline;
use crate::http::Http;
use crate::ids::UserId;

/// The verifier, built once at cold start.
#[derive(Debug)]
pub struct JwtVerifier {
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    user_claim: String,
    required_scopes: Vec<String>,
    leeway: Duration,
    keys: KeySet,
}

impl JwtVerifier {
    pub fn new(config: &JwtConfig, http: Http) -> Result<Self, KeySetError> {
        let keys = match &config.key_set {
            JwksSource::Url(url) => KeySet::remote(
                http,
                url.clone(),
                config.algorithms.clone(),
                config.refetch_interval,
                config.timeout,
            ),
            JwksSource::Inline(json) => KeySet::fixed(json, config.algorithms.clone())?,
        };
        Ok(Self {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            algorithms: config.algorithms.clone(),
            user_claim: config.user_claim.clone(),
            required_scopes: config.required_scopes.clone(),
            leeway: config.leeway,
            keys,
        })
    }

    /// The customer `token` names, if it is an access token of the issuer for this skill.
    pub async fn customer(
        &self,
        token: &BearerToken,
        clock: &Clock,
        deadline: &Deadline,
    ) -> Result<UserId, LinkingError> {
        let invalid = LinkingError::Invalid;
        let token = token.expose();
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid(Rejection::Malformed))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(invalid(Rejection::Algorithm));
        }
        let kid = header.kid.ok_or(invalid(Rejection::UnknownKey))?;
        let key = self.keys.key(&kid, deadline).await?;
        if !key.verifies(header.alg) {
            return Err(invalid(Rejection::Algorithm));
        }
        // The library checks the signature and `iss`; the times are checked below, last.
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding(), &validation)
            .map_err(|e| invalid(rejection(e.kind())))?
            .claims;
        self.check(&claims, clock.now())
    }

    /// The claims' rules, once the signature and issuer are known good.
    fn check(&self, claims: &Map<String, Value>, now: SystemTime) -> Result<UserId, LinkingError> {
        let invalid = LinkingError::Invalid;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let token_use = text("token_use");
        if token_use.is_some_and(|u| u != "access") {
            return Err(invalid(Rejection::TokenUse));
        }
        match claims.get("aud") {
            Some(aud) => {
                if !strings(aud).any(|a| a == self.audience) {
                    return Err(invalid(Rejection::Audience));
                }
            }
            // Cognito's access tokens name the app client instead.
            None => match (text("client_id"), token_use) {
                (Some(client), Some("access")) if client == self.audience => {}
                (Some(_), Some("access")) => return Err(invalid(Rejection::ClientId)),
                (Some(_), _) => return Err(invalid(Rejection::TokenUse)),
                (None, _) => return Err(invalid(Rejection::Audience)),
            },
        }
        if !self.required_scopes.is_empty() {
            let granted: Vec<&str> = text("scope")
                .into_iter()
                .flat_map(str::split_whitespace)
                .chain(claims.get("scp").into_iter().flat_map(strings))
                .collect();
            if !self
                .required_scopes
                .iter()
                .all(|s| granted.contains(&s.as_str()))
            {
                return Err(invalid(Rejection::Scope));
            }
        }
        let now = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let leeway = self.leeway.as_secs_f64();
        let time = |name: &str| claims.get(name).and_then(Value::as_f64);
        if time("nbf").is_some_and(|nbf| nbf > now + leeway) {
            return Err(invalid(Rejection::NotYetValid));
        }
        let user =
            super::user_id(claims.get(&self.user_claim)).ok_or(invalid(Rejection::NoCustomer))?;
        // The library made sure `exp` is there and a number.
        if time("exp").is_none_or(|exp| now >= exp + leeway) {
            return Err(LinkingError::Expired);
        }
        Ok(user)
    }
}

/// A claim that is one string or a list of them (`aud`, `scp`).
fn strings(value: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match value {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(items) => Box::new(items.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

/// What a failed decode says of the token.
fn rejection(kind: &ErrorKind) -> Rejection {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidKeyFormat => Rejection::Signature,
        ErrorKind::InvalidIssuer => Rejection::Issuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => Rejection::Issuer,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => Rejection::Algorithm,
        _ => Rejection::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(scopes: &[&str]) -> JwtVerifier {
        let config = JwtConfig {
            issuer: "https://issuer.example".into(),
            audience: "skill".into(),
            algorithms: vec![Algorithm::RS256],
            user_claim: "sub".into(),
            required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
            leeway: Duration::from_secs(30),
            key_set: JwksSource::Url("https://issuer.example/jwks".into()),
            refetch_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
        };
        JwtVerifier::new(&config, Http::new().unwrap()).unwrap()
    }

    const NOW: u64 = 1_800_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn claims(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            unreachable!()
        };
        map
    }

    fn refused(v: &JwtVerifier, c: Value) -> Rejection {
        match v.check(&claims(c), at(NOW)) {
            Err(LinkingError::Invalid(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_audience_or_a_cognito_client_id_with_an_access_token() {
        let v = verifier(&[]);
        let ok = |c: Value| v.check(&claims(c), at(NOW)).unwrap();
        assert_eq!(
            ok(serde_json::json!({"sub": "u", "exp": NOW + 60, "aud": "skill"})),
            "u"
        );
        assert_eq!(
            ok(serde_json::json!({"sub": "u", "exp": NOW + 60, "aud": ["other", "skill"]})),
            "u"
        );
        assert_eq!(
            ok(
                serde_json::json!({"sub": "u", "exp": NOW + 60, "client_id": "skill", "token_use": "access"})
            ),
            "u"
        );
        let c = |extra: Value| {
            let mut base = claims(serde_json::json!({"sub": "u", "exp": NOW + 60}));
            base.extend(claims(extra));
            Value::Object(base)
        };
        assert_eq!(
            refused(&v, c(serde_json::json!({"aud": "other"}))),
            Rejection::Audience
        );
        assert_eq!(refused(&v, c(serde_json::json!({}))), Rejection::Audience);
        assert_eq!(
            refused(
                &v,
                c(serde_json::json!({"client_id": "other", "token_use": "access"}))
            ),
            Rejection::ClientId
        );
        // A Cognito ID token: `aud` is the client id, `token_use` is `id`.
        assert_eq!(
            refused(
                &v,
                c(serde_json::json!({"aud": "skill", "token_use": "id"}))
            ),
            Rejection::TokenUse
        );
        assert_eq!(
            refused(&v, c(serde_json::json!({"client_id": "skill"}))),
            Rejection::TokenUse
        );
    }

    #[test]
    fn scopes_from_scope_or_scp() {
        let v = verifier(&["devices", "profile"]);
        let base = |extra: Value| {
            let mut c = claims(serde_json::json!({"sub": "u", "exp": NOW + 60, "aud": "skill"}));
            c.extend(claims(extra));
            c
        };
        assert!(
            v.check(
                &base(serde_json::json!({"scope": "profile devices openid"})),
                at(NOW)
            )
            .is_ok()
        );
        assert!(
            v.check(
                &base(serde_json::json!({"scp": ["devices", "profile"]})),
                at(NOW)
            )
            .is_ok()
        );
        assert_eq!(
            refused(
                &v,
                Value::Object(base(serde_json::json!({"scope": "profile"})))
            ),
            Rejection::Scope
        );
        assert_eq!(
            refused(&v, Value::Object(base(serde_json::json!({})))),
            Rejection::Scope
        );
    }

    #[test]
    fn times_with_the_leeway_and_expiry_last() {
        let v = verifier(&[]);
        let check = |exp: u64, nbf: Option<u64>| {
            let mut c = serde_json::json!({"sub": "u", "exp": exp, "aud": "skill"});
            if let Some(nbf) = nbf {
                c["nbf"] = nbf.into();
            }
            v.check(&claims(c), at(NOW))
        };
        assert!(check(NOW + 1, None).is_ok());
        assert!(check(NOW - 29, None).is_ok(), "within the leeway");
        assert!(matches!(check(NOW - 30, None), Err(LinkingError::Expired)));
        assert!(check(NOW + 60, Some(NOW + 30)).is_ok(), "within the leeway");
        assert!(matches!(
            check(NOW + 60, Some(NOW + 31)),
            Err(LinkingError::Invalid(Rejection::NotYetValid))
        ));
        // Expired, and for another skill: a refresh would not help, so it is not "expired".
        assert_eq!(
            refused(
                &v,
                serde_json::json!({"sub": "u", "exp": NOW - 3600, "aud": "other"})
            ),
            Rejection::Audience
        );
    }

    #[test]
    fn the_customer_claim_must_be_a_short_non_empty_string() {
        let v = verifier(&[]);
        for sub in [Value::Null, "".into(), 42.into(), "x".repeat(1025).into()] {
            assert_eq!(
                refused(
                    &v,
                    serde_json::json!({"sub": sub, "exp": NOW + 60, "aud": "skill"})
                ),
                Rejection::NoCustomer
            );
        }
        assert_eq!(
            refused(&v, serde_json::json!({"exp": NOW + 60, "aud": "skill"})),
            Rejection::NoCustomer
        );
    }
}
