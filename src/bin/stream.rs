//! The stream Lambda: the devices table's DynamoDB stream in, proactive discovery events to
//! Alexa out, undelivered records reported back as batch item failures.
// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use alexa_smart_home::deadline::Deadline;
use alexa_smart_home::stream::StreamProcessor;
use alexa_smart_home::stream::changes::StreamEvent;
use alexa_smart_home::{http, metrics, runtime};
use lambda_runtime::{Error, LambdaEvent, service_fn};

// One thread: a Lambda below 1,769 MB has one vCPU, and the work is waiting on DynamoDB and
// HTTP; a worker pool would only add threads, memory arenas and cross-thread wake-ups.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let process = runtime::cold_start().await?;
    let processor = &StreamProcessor::from_config(process.store, &process.config, http::client()?);
    // Records are decoded as the event is read (StreamEvent): the batch is not held twice.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            let deadline = Deadline::instant_from_epoch_ms(event.context.deadline);
            let response = processor.process(event.payload, deadline).await;
            metrics::flush();
            runtime::release_freed_memory();
            Ok::<_, Error>(response)
        },
    ))
    .await
}
