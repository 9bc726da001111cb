//! The shadow bridge Lambda: AWS IoT Core shadow documents in (from the topic rule), the
//! devices' reported state written into the devices table.
// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use alexa_smart_home::bridge::{Bridge, ShadowDocuments};
use alexa_smart_home::{metrics, runtime};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::warn;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let process = runtime::cold_start().await?;
    let bridge = &Bridge::new(process.store);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A document that is not one is logged and dropped: retrying cannot make it one.
        let result = match serde_json::from_value::<ShadowDocuments>(event.payload) {
            Ok(documents) => bridge.handle(&documents).await.map(|_| ()),
            Err(e) => {
                warn!(error = %e, "not a shadow update/documents message; dropped");
                Ok(())
            }
        };
        metrics::flush();
        result?;
        Ok::<_, Error>(())
    }))
    .await
}
