//! The skill Lambda: Alexa's directives in, answers out.
// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use alexa_smart_home::cloud::DeviceClouds;
use alexa_smart_home::{http, metrics, runtime, skill::Skill};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

// One thread: a Lambda below 1,769 MB has one vCPU, and the work is waiting on DynamoDB and
// HTTP; a worker pool would only add threads, memory arenas and cross-thread wake-ups.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (config, store, sdk) = runtime::cold_start().await?;
    let skill = &Skill::from_config(store, &config, http::client())
        .with_device_clouds(DeviceClouds::from_config(&config, Some(&sdk)));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let answer = skill.handle(event.payload.get()).await;
            metrics::flush();
            Ok::<_, Error>(answer)
        },
    ))
    .await
}
