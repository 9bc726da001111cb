//! AWS IoT Core's device shadows on the local server (moto) for the tests, and the skill wired
//! to them.

use std::sync::OnceLock;

use alexa_smart_home::cloud::DeviceClouds;
use alexa_smart_home::config::Config;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::Store;
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use alexa_smart_home_local::shadow::LocalShadows;

static ENDPOINT: OnceLock<String> = OnceLock::new();

/// A moto server serving the IoT data plane: the one the DynamoDB tests use, unless those run
/// against another server (DynamoDB Local has no IoT), then one of its own.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| match std::env::var("DYNAMODB_ENDPOINT") {
        Ok(url) if !url.is_empty() => super::dynamo::spawn_moto(),
        _ => super::dynamo::endpoint().to_owned(),
    })
}

/// `config` with its IoT data endpoint set to the local server.
pub fn with_iot(config: &Config) -> Config {
    let mut config = config.clone();
    config.iot_data_endpoint = Some(endpoint().to_owned());
    config
}

/// The skill as the Lambda builds it, its device clouds included.
pub async fn skill<S: Store>(store: S, config: &Config) -> Skill<S> {
    let config = with_iot(config);
    let sdk = dynamo::sdk_config(&config).await.unwrap();
    Skill::from_config(store, &config, alexa_smart_home::http::client().unwrap())
        .unwrap()
        .with_device_clouds(DeviceClouds::from_config(&config, Some(&sdk)).unwrap())
}

/// The local shadows, their documents handed to a bridge on `store`.
pub async fn shadows(store: DynamoStore, config: &Config) -> LocalShadows<DynamoStore> {
    let sdk = dynamo::sdk_config(&with_iot(config)).await.unwrap();
    LocalShadows::new(endpoint(), &sdk, store)
}
