//! Local stand-ins for what AWS and Amazon provide, so the whole loop runs on a laptop and in
//! tests: a reader of the local server's DynamoDB stream that hands records to the stream
//! processor as Lambda would, fake Login with Amazon and event gateway servers, and a minimal
//! Lambda Runtime API to run the real Lambda binaries.

pub mod fakes;
pub mod runtime_api;
pub mod stream;
