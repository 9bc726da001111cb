//! The local stand-in for Lambda's event source mappings: the devices table's stream through
//! the stream processor, and the grants table's through the reconcile function, with Login with
//! Amazon and the event gateway faked on 127.0.0.1. `devicectl local-events` and the
//! certification run on it.

use std::time::Duration;

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::config::Config;
use alexa_smart_home::http;
use alexa_smart_home::reconcile::dead_letter::DeadLetters;
use alexa_smart_home::reconcile::run::Reconciler;
use alexa_smart_home::reconcile::trigger::{ReconcileFunction, Trigger};
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use alexa_smart_home::stream::StreamProcessor;

use crate::fakes::FakeAmazon;
use crate::stream::LocalStream;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Points `config` at the fakes, with a client id and secret if it has none.
pub fn use_fakes(config: &mut Config, fakes: &FakeAmazon) {
    config.lwa_token_url = fakes.lwa_token_url();
    config.event_gateway_url = Some(fakes.gateway_url());
    config
        .lwa_client_id
        .get_or_insert_with(|| "local-client".into());
    config
        .lwa_client_secret
        .get_or_insert_with(|| Secret::new("local-secret"));
}

/// The reconcile function as its Lambda builds it, on `store`.
pub async fn reconcile_function(
    store: DynamoStore,
    config: &Config,
) -> Result<ReconcileFunction<DynamoStore>, BoxError> {
    Ok(ReconcileFunction::new(
        Reconciler::from_config(store, config, http::client()?),
        DeadLetters::new(&dynamo::sdk_config(config).await?),
    ))
}

/// The streams and what they trigger.
pub struct Pump {
    pub stream: LocalStream,
    pub processor: StreamProcessor<DynamoStore>,
    /// The grants table's stream, and the reconcile function it triggers.
    pub grants: LocalStream,
    pub reconciler: ReconcileFunction<DynamoStore>,
    pub fakes: FakeAmazon,
}

impl Pump {
    /// Hands one batch to the processor; `false` when the stream had nothing new.
    pub async fn once(&mut self) -> Result<bool, BoxError> {
        // The template gives the stream function two minutes per batch.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let grants = self.grants.next_batch(100).await?;
        if !grants.records.is_empty() {
            let trigger = Trigger::parse(&serde_json::to_value(&grants)?)?;
            self.reconciler.handle(trigger, deadline).await;
            self.grants.done(&Default::default()).await?;
            return Ok(true);
        }
        let batch = self.stream.next_batch(100).await?;
        if batch.records.is_empty() {
            return Ok(false);
        }
        let response = self.processor.process(batch, deadline).await;
        self.stream.done(&response).await?;
        Ok(true)
    }

    /// Pumps until the fake gateway has received an event matching `seen`.
    pub async fn until(
        &mut self,
        seen: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<(), BoxError> {
        let started = std::time::Instant::now();
        while !self.fakes.received().iter().any(&seen) {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the expected event did not reach the gateway within 30 s".into());
            }
            if !self.once().await? {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Pumps until both streams have nothing new.
    pub async fn drain(&mut self) -> Result<(), BoxError> {
        while self.once().await? {}
        Ok(())
    }
}
