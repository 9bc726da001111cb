//! Creates the tables with the layout `template.yaml` declares, for local runs and tests.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use super::StoreError;
use super::dynamo::{ENDPOINT_ID, THING_INDEX, THING_NAME, TOKEN_HASH, TTL, USER_ID};
use crate::config::Config;

/// Creates the devices table (with its stream and its sparse `thingName` index), the tokens
/// table (with its TTL), the grants table (with a keys-only stream, the reconciler's trigger)
/// and the Alexa view table. Tables that already exist are left as they are, so this can run at every start.
pub async fn create(client: &Client, config: &Config) -> Result<(), StoreError> {
    let (devices_table, tokens_table) =
        (config.devices_table.as_str(), config.tokens_table.as_str());
    let devices = client
        .create_table()
        .table_name(devices_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(USER_ID)?)
        .attribute_definitions(attribute(ENDPOINT_ID)?)
        .attribute_definitions(attribute(THING_NAME)?)
        .key_schema(key(USER_ID, KeyType::Hash)?)
        .key_schema(key(ENDPOINT_ID, KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(THING_INDEX)
                .key_schema(key(THING_NAME, KeyType::Hash)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await;
    ignore_existing(devices, "CreateTable", devices_table)?;

    let tokens = client
        .create_table()
        .table_name(tokens_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(TOKEN_HASH)?)
        .key_schema(key(TOKEN_HASH, KeyType::Hash)?)
        .send()
        .await;
    let created = tokens.is_ok();
    let grants = client
        .create_table()
        .table_name(&config.grants_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(USER_ID)?)
        .key_schema(key(USER_ID, KeyType::Hash)?)
        // Keys only: the reconciler reads the grant itself, and tokens stay out of the stream.
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::KeysOnly)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await;
    ignore_existing(grants, "CreateTable", &config.grants_table)?;
    let view = client
        .create_table()
        .table_name(&config.alexa_view_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(USER_ID)?)
        .attribute_definitions(attribute(ENDPOINT_ID)?)
        .key_schema(key(USER_ID, KeyType::Hash)?)
        .key_schema(key(ENDPOINT_ID, KeyType::Range)?)
        .send()
        .await;
    ignore_existing(view, "CreateTable", &config.alexa_view_table)?;
    ignore_existing(tokens, "CreateTable", tokens_table)?;
    if created {
        client
            .update_time_to_live()
            .table_name(tokens_table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL)
                    .build()
                    .map_err(build_error)?,
            )
            .send()
            .await
            .map_err(|e| StoreError::Dynamo {
                operation: "UpdateTimeToLive",
                table: tokens_table.to_owned(),
                source: Box::new(e),
            })?;
    }
    Ok(())
}

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_error)
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(build_error)
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(format!("building a request: {e}"))
}

fn ignore_existing<T>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::create_table::CreateTableError,
        >,
    >,
    operation: &'static str,
    table: &str,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(StoreError::Dynamo {
            operation,
            table: table.to_owned(),
            source: Box::new(e),
        }),
    }
}
