//! The skill Lambda: Alexa's directives in, answers out.
// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use alexa_smart_home::cloud::DeviceClouds;
use alexa_smart_home::deadline::Deadline;
use alexa_smart_home::{http, metrics, runtime, skill::Skill};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

// One thread: a Lambda below 1,769 MB has one vCPU, and the work is waiting on DynamoDB and
// HTTP; a worker pool would only add threads, memory arenas and cross-thread wake-ups.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let process = runtime::cold_start().await?;
    let clouds = DeviceClouds::from_config(&process.config, Some(&process.sdk))?;
    let skill = &Skill::from_config(process.store, &process.config, http::client()?)?
        .with_device_clouds(clouds);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let invocation = Deadline::instant_from_epoch_ms(event.context.deadline);
            let deadline = Deadline::for_directive(Some(invocation));
            let answer = skill.handle_until(event.payload.get(), deadline).await;
            metrics::flush();
            Ok::<_, Error>(answer)
        },
    ))
    .await
}
