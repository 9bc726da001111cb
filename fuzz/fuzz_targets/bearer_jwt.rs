//! Arbitrary bearer strings in `jwt` account linking: resolving one must never panic and never
//! name a customer.
//!
//! The key set is `bearer_jwt.jwks.json`: the public halves of an RS256 and an ES256 key whose
//! private halves were thrown away once the seeds were signed, so no input can carry a valid
//! signature. The seeds in `corpus/bearer_jwt` are tokens that come close: signed by those keys
//! but expired, for another audience, a Cognito ID token; a forged signature under a real
//! `kid`; `alg: none`; HS256 signed with the public key. The set is in the configuration
//! (`JWKS_JSON`), so nothing is fetched: no input waits on the network.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::deadline::Deadline;
use alexa_smart_home::linking::{
    AccountLinking, JwksSource, JwtConfig, LinkingConfig, LinkingError,
};
use alexa_smart_home_local::memory::MemoryStore;
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;

struct Harness {
    runtime: tokio::runtime::Runtime,
    linking: AccountLinking,
    store: MemoryStore,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = LinkingConfig::Jwt(JwtConfig {
        issuer: "https://issuer.fuzz.example".into(),
        audience: "fuzz-skill".into(),
        algorithms: vec![Algorithm::RS256, Algorithm::ES256],
        user_claim: "sub".into(),
        required_scopes: vec!["devices".into()],
        leeway: Duration::from_secs(30),
        key_set: JwksSource::Inline(include_str!("bearer_jwt.jwks.json").into()),
        refetch_interval: Duration::from_secs(60),
        timeout: Duration::from_secs(1),
    });
    let http = alexa_smart_home::http::client().expect("client");
    let linking = AccountLinking::new(&config, http).expect("the key set");
    Harness {
        runtime,
        linking,
        store: MemoryStore::new(),
    }
});

fuzz_target!(|data: &[u8]| {
    let harness = &*HARNESS;
    let token = BearerToken::new(String::from_utf8_lossy(data));
    let resolved = harness.runtime.block_on(harness.linking.customer(
        &harness.store,
        &token,
        &Clock::system(),
        &Deadline::after(Duration::from_secs(1)),
    ));
    match resolved {
        Err(LinkingError::Invalid(_) | LinkingError::Expired) => {}
        other => panic!("a token no key signed was answered {other:?}"),
    }
});
