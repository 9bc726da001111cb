//! Local stand-ins for what AWS and Amazon provide, so that the whole loop runs on a laptop and
//! in tests: a reader of a local server's DynamoDB stream that hands records to the stream
//! processor as Lambda's event source mapping would, fake Login with Amazon and event gateway
//! servers, a stand-in identity provider for JWT and userinfo account linking, a minimal Lambda
//! Runtime API to run the real Lambda binaries, an in-memory store, AWS IoT shadows with the
//! topic rule that feeds the shadow bridge, and `devicectl`.
//!
//! This crate is never deployed: it is a dev-dependency of the product crate's tests, benches
//! and fuzz targets, so that what it needs (wiremock, a hyper server, clap) stays out of the
//! two Lambdas.

pub mod certify;
pub mod fakes;
pub mod idp;
pub mod maker;
pub mod memory;
pub mod pump;
pub mod runtime_api;
pub mod shadow;
pub mod stream;
pub mod telemetry;
