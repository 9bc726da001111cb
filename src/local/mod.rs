//! Local stand-ins for what AWS and Amazon provide, so the whole loop runs on a laptop and in
//! tests: a reader of the local server's DynamoDB stream that hands records to the stream
//! processor as Lambda would, and fake Login with Amazon and event gateway servers.

pub mod fakes;
pub mod stream;
