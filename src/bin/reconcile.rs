//! The reconcile Lambda: compares what Alexa was told with the devices table and sends the
//! difference, for the customers its trigger names (the grants table's stream, the stream's
//! dead-letter queue, the schedule, an operator).
// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use alexa_smart_home::deadline::Deadline;
use alexa_smart_home::reconcile::dead_letter::DeadLetters;
use alexa_smart_home::reconcile::run::Reconciler;
use alexa_smart_home::reconcile::trigger::{ReconcileFunction, Trigger};
use alexa_smart_home::{http, metrics, runtime};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let process = runtime::cold_start().await?;
    let function = &ReconcileFunction::new(
        Reconciler::from_config(process.store, &process.config, http::client()?),
        DeadLetters::new(&process.sdk),
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = Deadline::instant_from_epoch_ms(event.context.deadline);
        // Not a trigger this function has: an error, so that it shows in the function's
        // Errors metric (the event is not logged: a grant record or a message may hold data).
        let trigger = Trigger::parse(&event.payload)?;
        let answer = function.handle(trigger, deadline).await;
        metrics::flush();
        Ok::<_, Error>(answer)
    }))
    .await
}
