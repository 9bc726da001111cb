//! A stand-in identity provider on 127.0.0.1, for `jwt` and `userinfo` account linking: it
//! signs access tokens with keys made when it starts, serves their key set at
//! `/.well-known/jwks.json` (its issuer is its own address), answers `/userinfo` for the
//! tokens it issued, can rotate its keys, and can fail on demand.
//!
//! `POST /issue` (`{"sub": …}`) hands out a token: that is how `devicectl issue-token --jwt`
//! gets one from a running `devicectl idp`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The audience of the stand-in's tokens unless told otherwise: what the skill's
/// `TOKEN_AUDIENCE` is set to locally.
pub const AUDIENCE: &str = "alexa-smart-home-local";

/// A private key and its public half as a JSON Web Key.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?}, {})", self.alg, self.kid)
    }
}

impl SigningKey {
    /// A new key for `alg` (RS256: RSA 2048; ES256: P-256), with a random `kid`.
    pub fn generate(alg: Algorithm) -> Self {
        let encoding = match alg {
            Algorithm::RS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .expect("RSA key generation");
                let pkcs8 = pair.as_der().expect("PKCS#8 of an RSA key");
                let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
                EncodingKey::from_rsa_pem(pem.as_bytes()).expect("the RSA key's PEM")
            }
            Algorithm::ES256 => {
                let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                )
                .expect("P-256 key generation");
                let pkcs8 = pair.to_pkcs8v1().expect("PKCS#8 of a P-256 key");
                EncodingKey::from_ec_der(pkcs8.as_ref())
            }
            other => panic!("the stand-in makes RS256 and ES256 keys, not {other:?}"),
        };
        let kid = format!("local-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).expect("the public key as a JWK");
        jwk.common.key_id = Some(kid.clone());
        Self {
            kid,
            alg,
            encoding,
            jwk,
        }
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The public key as its JWK's JSON: what a forger has to sign an HMAC token with.
    pub fn public_json(&self) -> String {
        serde_json::to_string(&self.jwk).unwrap_or_default()
    }

    /// `claims` signed with this key, the header naming its `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// `claims` signed with this key, the header naming `kid` (another key's, or none known).
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing a token")
    }
}

/// A token with `alg: none` and no signature: what a forger sends hoping it is not checked.
pub fn unsigned_token(kid: &str, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
        part(claims)
    )
}

/// `claims` signed HS256 with `secret`, the header naming `kid`.
pub fn hmac_token(kid: &str, secret: &[u8], claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_secret(secret).expect("a non-empty secret");
    jsonwebtoken::encode(&header, claims, &key).expect("signing a token")
}

/// Unix seconds, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How the stand-in misbehaves, for its key set and userinfo endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Failure {
    #[default]
    None,
    /// Answers with this status and an empty body.
    Status(u16),
    /// Answers correctly, after this long.
    Slow(Duration),
    /// Answers 200 with a body that is not JSON.
    Garbage,
}

#[derive(Debug, Default)]
struct State {
    /// Published, oldest first; the last one signs.
    keys: Vec<SigningKey>,
    failure: Failure,
    /// Opaque tokens issued, and the customer of each.
    opaque: HashMap<String, String>,
}

/// The stand-in, running until dropped.
pub struct IdentityProvider {
    server: MockServer,
    state: Arc<Mutex<State>>,
    key_set_fetches: Arc<AtomicUsize>,
    userinfo_calls: Arc<AtomicUsize>,
}

impl IdentityProvider {
    /// Starts on a free port of 127.0.0.1 with one key of `alg`.
    pub async fn start(alg: Algorithm) -> Self {
        Self::on(MockServer::start().await, alg).await
    }

    /// Starts on `listener` (a port of the caller's choosing) with one key of `alg`.
    pub async fn start_on(listener: std::net::TcpListener, alg: Algorithm) -> Self {
        let server = MockServer::builder().listener(listener).start().await;
        Self::on(server, alg).await
    }

    async fn on(server: MockServer, alg: Algorithm) -> Self {
        let state = Arc::new(Mutex::new(State {
            keys: vec![SigningKey::generate(alg)],
            ..State::default()
        }));
        let key_set_fetches = Arc::new(AtomicUsize::new(0));
        let userinfo_calls = Arc::new(AtomicUsize::new(0));
        Mock::given(method("GET"))
            .and(path("/.well-known/jwks.json"))
            .respond_with(KeySetResponder {
                state: state.clone(),
                fetches: key_set_fetches.clone(),
            })
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/userinfo"))
            .respond_with(UserinfoResponder {
                state: state.clone(),
                calls: userinfo_calls.clone(),
            })
            .mount(&server)
            .await;
        let idp = Self {
            server,
            state,
            key_set_fetches,
            userinfo_calls,
        };
        Mock::given(method("POST"))
            .and(path("/issue"))
            .respond_with(IssueResponder {
                state: idp.state.clone(),
                issuer: idp.issuer(),
            })
            .mount(&idp.server)
            .await;
        idp
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The issuer, `iss` of its tokens: its own address.
    pub fn issuer(&self) -> String {
        self.server.uri()
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.server.uri())
    }

    pub fn userinfo_url(&self) -> String {
        format!("{}/userinfo", self.server.uri())
    }

    /// The key that signs now.
    pub fn signing_key(&self) -> SigningKey {
        self.state().keys.last().cloned().expect("a key")
    }

    /// An access token for `sub`: issuer, audience [`AUDIENCE`], an hour's lifetime.
    pub fn access_token(&self, sub: &str) -> String {
        self.sign(&self.claims(sub, 3600))
    }

    /// The claims of an access token for `sub` that expires in `lifetime` seconds.
    pub fn claims(&self, sub: &str, lifetime: u64) -> Value {
        access_claims(&self.issuer(), sub, lifetime)
    }

    /// `claims` signed with the current key.
    pub fn sign(&self, claims: &Value) -> String {
        self.signing_key().sign(claims)
    }

    /// Publishes a new key of `alg`, which signs from now on; the old ones stay published.
    pub fn rotate(&self, alg: Algorithm) -> SigningKey {
        let key = SigningKey::generate(alg);
        self.state().keys.push(key.clone());
        key
    }

    /// Makes the key set and userinfo endpoints misbehave (or behave again).
    pub fn fail(&self, failure: Failure) {
        self.state().failure = failure;
    }

    /// An opaque token for `sub`, which `/userinfo` answers for.
    pub fn opaque_token(&self, sub: &str) -> String {
        let token = format!("opaque-{}", uuid::Uuid::new_v4().simple());
        self.state().opaque.insert(token.clone(), sub.to_owned());
        token
    }

    /// Forgets an opaque token: `/userinfo` refuses it from now on.
    pub fn revoke(&self, token: &str) {
        self.state().opaque.remove(token);
    }

    pub fn key_set_fetches(&self) -> usize {
        self.key_set_fetches.load(Ordering::SeqCst)
    }

    pub fn userinfo_calls(&self) -> usize {
        self.userinfo_calls.load(Ordering::SeqCst)
    }
}

fn access_claims(issuer: &str, sub: &str, lifetime: u64) -> Value {
    let now = now();
    json!({
        "iss": issuer,
        "sub": sub,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
        "scope": "devices",
    })
}

/// The answer a failure gives instead of the real one, if any.
fn failed(failure: Failure) -> Option<ResponseTemplate> {
    match failure {
        Failure::None | Failure::Slow(_) => None,
        Failure::Status(status) => Some(ResponseTemplate::new(status)),
        Failure::Garbage => Some(ResponseTemplate::new(200).set_body_string("<html>oops</html>")),
    }
}

fn delayed(answer: ResponseTemplate, failure: Failure) -> ResponseTemplate {
    match failure {
        Failure::Slow(delay) => answer.set_delay(delay),
        _ => answer,
    }
}

struct KeySetResponder {
    state: Arc<Mutex<State>>,
    fetches: Arc<AtomicUsize>,
}

impl Respond for KeySetResponder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(answer) = failed(state.failure) {
            return answer;
        }
        let set = JwkSet {
            keys: state.keys.iter().map(|k| k.jwk.clone()).collect(),
        };
        delayed(ResponseTemplate::new(200).set_body_json(set), state.failure)
    }
}

struct UserinfoResponder {
    state: Arc<Mutex<State>>,
    calls: Arc<AtomicUsize>,
}

impl Respond for UserinfoResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(answer) = failed(state.failure) {
            return answer;
        }
        let token = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let answer = match state.opaque.get(token) {
            Some(sub) => ResponseTemplate::new(200).set_body_json(json!({
                "sub": sub,
                "email": format!("{sub}@example.com"),
            })),
            None => ResponseTemplate::new(401).insert_header(
                "WWW-Authenticate",
                "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\"",
            ),
        };
        delayed(answer, state.failure)
    }
}

struct IssueResponder {
    state: Arc<Mutex<State>>,
    issuer: String,
}

impl Respond for IssueResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(asked) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        let Some(sub) = asked.get("sub").and_then(Value::as_str) else {
            return ResponseTemplate::new(400);
        };
        let lifetime = asked
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(3600);
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(key) = state.keys.last() else {
            return ResponseTemplate::new(500);
        };
        let token = key.sign(&access_claims(&self.issuer, sub, lifetime));
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime,
        }))
    }
}
