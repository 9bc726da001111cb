//! The skill Lambda: Alexa's directives in, answers out.
// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use alexa_smart_home::config::Config;
use alexa_smart_home::http;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Honours AWS_LAMBDA_LOG_LEVEL / AWS_LAMBDA_LOG_FORMAT (and RUST_LOG).
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let store = DynamoStore::new(dynamo::client(&config).await, &config);
    let skill = Skill::from_config(store, &config, http::client());
    let skill = &skill;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            Ok::<_, Error>(skill.handle(event.payload.get()).await)
        },
    ))
    .await
}
