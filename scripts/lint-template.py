"""Lints template.yaml offline.

cfn-lint alone does not look inside SAM resources (a misspelt event property or a policy that
references a missing resource passes), so the template is also translated to plain
CloudFormation with aws-sam-translator, the library `sam deploy` uses, and that is linted too.

The translated template (what would really be deployed) is then checked against the docs'
security review: only the configured skill may invoke the skill function, only this stack's
IoT rule the shadow bridge, and only this stack's schedule the reconcile function; the rule
hands the bridge nothing but shadow documents; each role allows exactly what its code (or the
rule's error action) uses, and only its service may assume it; the grants, the streams, the
Alexa view and the dead letters are reachable by the functions named below alone; the grants'
stream carries keys only; the maker's API settings and the account-linking settings reach the
skill alone. With CreateUserPool, the user pool is an authorization server Alexa can keep a link
with: its app client has the authorization code grant alone, a secret, exactly Alexa's three
redirect URLs for the vendor id, refresh tokens that live Cognito's 10 years and are not
rotated; the skill verifies the pool's tokens; no output gives the client's secret; and the
template's Rules refuse a linking mode without what it needs.

And against the operations page (docs/operations.md): each function is built from its binary with the
environment it reads; each trigger has its reviewed settings; a queue a function consumes
hides a message for longer than the function may take; every function writes its metrics to
the namespace the alarms watch; every alarm is as reviewed and notifies AlarmTopicArn; the
dashboard shows what the alarms watch, and every alarm.

The template takes a Role (docs/deploying.md, "Every Alexa region"), and each is checked as
CloudFormation would deploy it: a home stack against all of the above; a region stack, in
another Alexa region, as the skill alone (its role, log group, Alexa's invoke permission and its
three alarms: no table, no stream consumer, no queue, no other function, no user pool), with
exactly the home skill's actions on exactly the home stack's tables and thing shadows in
HomeRegion, HOME_REGION and the home table names in its environment. In both, ALEXA_EVENT_REGION
comes from the Alexa region of the stack's AWS region (Mappings AlexaRegions), never a free
value, and the Rules refuse a stack outside Alexa's three regions and a region stack without the
home stack's region and tables. cfn-lint lints the template and what each role deploys.

`make deploy-regions` (scripts/deploy-regions.sh) is run with --dry-run on parameter files made
from the template: it must build once, deploy the home stack and then each region stack, in
order, with the home stack's outputs and the skill's parameters carried over, print the ARNs to
paste into the Alexa developer console, and never a secret.

Every lint ends with a self-test: breakages of the template (and of the dry run's commands) that
the checks must catch, each by the problem it is for.
"""

import copy
import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import tomllib

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE = "s3://placeholder-bucket/placeholder.zip"

# A `${…}` in a resource stays as written: the scoping is checked on the template's own words.
THING_SHADOWS = (
    "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:thing/${ThingNamePrefix}*"
)
THING_NAME_INDEX = "${DevicesTable.Arn}/index/thingName"

# The template's roles (the parameter Role): a home stack is the whole deployment; a region
# stack, in another Alexa region, is the skill alone on the home stack's tables and things.
ROLE_CONDITIONS = {
    "IsHome": {"Fn::Equals": [{"Ref": "Role"}, "home"]},
    "IsRegion": {"Fn::Equals": [{"Ref": "Role"}, "region"]},
}

# The AWS regions Alexa invokes smart home skills' Lambdas in, and the Alexa region (event
# gateway) of each: what a grant records as the customer's, from the stack that received their
# AcceptGrant. The template's Mappings and its rule AlexaRegionsOnly say the same.
ALEXA_REGIONS = {"us-east-1": "NA", "eu-west-1": "EU", "us-west-2": "FE"}
EVENT_REGION = {"Fn::FindInMap": ["AlexaRegions", {"Ref": "AWS::Region"}, "EventRegion"]}

# A region stack: each home table's name comes from a parameter (the home stack's output), its
# ARN is built in HomeRegion, and the IoT things are the home region's.
HOME_TABLES = {
    "DevicesTable": "HomeDevicesTable",
    "TokensTable": "HomeTokensTable",
    "GrantsTable": "HomeGrantsTable",
    "AlexaViewTable": "HomeAlexaViewTable",
}
HOME_TABLE_VARIABLES = {
    "DEVICES_TABLE": "HomeDevicesTable",
    "TOKENS_TABLE": "HomeTokensTable",
    "GRANTS_TABLE": "HomeGrantsTable",
    "ALEXA_VIEW_TABLE": "HomeAlexaViewTable",
}
HOME_THING_SHADOWS = (
    "arn:${AWS::Partition}:iot:${HomeRegion}:${AWS::AccountId}:thing/${ThingNamePrefix}*"
)


def home_table_arn(table):
    return "arn:${AWS::Partition}:dynamodb:${HomeRegion}:${AWS::AccountId}:table/${%s}" % (
        HOME_TABLES[table]
    )


# Every (action, resource) the role of each function (or rule) allows: the calls of its code
# (src/store/dynamo.rs: token GetItem; devices Query; device GetItem; update_state UpdateItem;
# replace_pending UpdateItem; device_for_thing Query on the thingName index; grant GetItem;
# put_grant, replace_grant, request_reconciliation and clear_reconciliation UpdateItem;
# delete_grant DeleteItem; customers Scan of the grants; told Query and record_told
# BatchWriteItem of the Alexa view; the scheduled passes' segments, items of the view's
# #reconciler partition listed by Query and claimed and advanced by conditional UpdateItem;
# src/reconcile/dead_letter.rs: GetShardIterator and GetRecords of the devices stream;
# src/cloud/iot.rs: UpdateThingShadow), what its event source mappings need,
# and its own log group. The stream function reads and writes device items only to settle
# pending commands; the bridge touches nothing but device items; no one writes a whole grant
# (PutItem): every grant write is an UpdateItem.
EXPECTED_PERMISSIONS = {
    "SkillFunction": {
        ("dynamodb:GetItem", "TokensTable.Arn"),
        ("dynamodb:Query", "DevicesTable.Arn"),
        ("dynamodb:GetItem", "DevicesTable.Arn"),
        ("dynamodb:UpdateItem", "DevicesTable.Arn"),
        # AcceptGrant (UpdateItem, asking for a reconciliation); a ghost's DeleteReport
        # refreshing or deleting the grant.
        ("dynamodb:GetItem", "GrantsTable.Arn"),
        ("dynamodb:UpdateItem", "GrantsTable.Arn"),
        ("dynamodb:DeleteItem", "GrantsTable.Arn"),
        # The ghosts' DeleteReports the gateway accepted.
        ("dynamodb:BatchWriteItem", "AlexaViewTable.Arn"),
        ("dynamodb:UpdateItem", "AlexaViewTable.Arn"),
        # Only this account's and region's things (and only those named with the prefix).
        ("iot:UpdateThingShadow", THING_SHADOWS),
        ("logs:CreateLogStream", "SkillFunctionLogGroup.Arn"),
        ("logs:PutLogEvents", "SkillFunctionLogGroup.Arn"),
    },
    "StreamFunction": {
        ("dynamodb:DescribeStream", "DevicesTable.StreamArn"),
        ("dynamodb:GetRecords", "DevicesTable.StreamArn"),
        ("dynamodb:GetShardIterator", "DevicesTable.StreamArn"),
        # The event source mapping needs it; IAM has no resource to scope it to.
        ("dynamodb:ListStreams", "*"),
        ("dynamodb:GetItem", "GrantsTable.Arn"),
        ("dynamodb:UpdateItem", "GrantsTable.Arn"),
        ("dynamodb:DeleteItem", "GrantsTable.Arn"),
        # The reports the gateway accepted: definitions and states (UpdateItem), deletes; and
        # what Alexa was told of a customer (Query), so that a ChangeReport of an endpoint it
        # does not know is preceded by its AddOrUpdateReport.
        ("dynamodb:Query", "AlexaViewTable.Arn"),
        ("dynamodb:BatchWriteItem", "AlexaViewTable.Arn"),
        ("dynamodb:UpdateItem", "AlexaViewTable.Arn"),
        # Settling a device's pending commands.
        ("dynamodb:GetItem", "DevicesTable.Arn"),
        ("dynamodb:UpdateItem", "DevicesTable.Arn"),
        ("sqs:SendMessage", "DeviceChangesDeadLetterQueue.Arn"),
        ("logs:CreateLogStream", "StreamFunctionLogGroup.Arn"),
        ("logs:PutLogEvents", "StreamFunctionLogGroup.Arn"),
    },
    "ReconcileFunction": {
        # A customer's grant (read, refreshed, deleted when revoked, its reconciliation request
        # cleared); the schedule's pages of customers (Scan, projecting userId).
        ("dynamodb:GetItem", "GrantsTable.Arn"),
        ("dynamodb:UpdateItem", "GrantsTable.Arn"),
        ("dynamodb:DeleteItem", "GrantsTable.Arn"),
        ("dynamodb:Scan", "GrantsTable.Arn"),
        # A customer's device definitions.
        ("dynamodb:Query", "DevicesTable.Arn"),
        # What Alexa was told (Query, BatchWriteItem, UpdateItem) and the passes' segments
        # (Query lists them; a conditional UpdateItem claims or advances one).
        ("dynamodb:Query", "AlexaViewTable.Arn"),
        ("dynamodb:BatchWriteItem", "AlexaViewTable.Arn"),
        ("dynamodb:UpdateItem", "AlexaViewTable.Arn"),
        # Its event source mapping on the grants' stream.
        ("dynamodb:DescribeStream", "GrantsTable.StreamArn"),
        ("dynamodb:GetRecords", "GrantsTable.StreamArn"),
        ("dynamodb:GetShardIterator", "GrantsTable.StreamArn"),
        ("dynamodb:ListStreams", "*"),
        # Dead-lettered batches read back from the devices stream: GetShardIterator and
        # GetRecords (DescribeStream too, as issue #14 grants it; the code does not call it).
        ("dynamodb:DescribeStream", "DevicesTable.StreamArn"),
        ("dynamodb:GetRecords", "DevicesTable.StreamArn"),
        ("dynamodb:GetShardIterator", "DevicesTable.StreamArn"),
        # Its event source mapping on the dead-letter queue.
        ("sqs:ReceiveMessage", "DeviceChangesDeadLetterQueue.Arn"),
        ("sqs:DeleteMessage", "DeviceChangesDeadLetterQueue.Arn"),
        ("sqs:GetQueueAttributes", "DeviceChangesDeadLetterQueue.Arn"),
        ("logs:CreateLogStream", "ReconcileFunctionLogGroup.Arn"),
        ("logs:PutLogEvents", "ReconcileFunctionLogGroup.Arn"),
    },
    "ShadowBridgeFunction": {
        # The index only, not the table: no customer's device list.
        ("dynamodb:Query", THING_NAME_INDEX),
        ("dynamodb:GetItem", "DevicesTable.Arn"),
        ("dynamodb:UpdateItem", "DevicesTable.Arn"),
        # Its asynchronous invocations' on-failure destination.
        ("sqs:SendMessage", "ShadowDocumentsDeadLetterQueue.Arn"),
        ("logs:CreateLogStream", "ShadowBridgeFunctionLogGroup.Arn"),
        ("logs:PutLogEvents", "ShadowBridgeFunctionLogGroup.Arn"),
    },
    # The role IoT assumes for the rule's error action.
    "ShadowDocumentsRule": {
        ("sqs:SendMessage", "ShadowDocumentsDeadLetterQueue.Arn"),
    },
}

# Who may do these things, whichever role allows them and however (a wildcard action or resource
# counts): a second review of EXPECTED_PERMISSIONS, so that widening one function's expectations
# cannot quietly open what matters most to another.
EXCLUSIVE = {
    # Every customer's grant (their LWA tokens), at once.
    ("dynamodb:Scan", "GrantsTable.Arn"): {"ReconcileFunction"},
    # A whole grant written: no one (every grant write is a conditional UpdateItem).
    ("dynamodb:PutItem", "GrantsTable.Arn"): set(),
    # The grants' stream (keys only), through the reconcile function's event source mapping.
    ("dynamodb:GetRecords", "GrantsTable.StreamArn"): {"ReconcileFunction"},
    # Every device change, old and new images: the stream function's event source mapping, and
    # the reconcile function reading dead-lettered batches back.
    ("dynamodb:GetRecords", "DevicesTable.StreamArn"): {"StreamFunction", "ReconcileFunction"},
    # What Alexa was told: written by the functions that send events, after the gateway
    # accepted them; read by the stream (before a ChangeReport) and the reconcile function,
    # whose segment items are claimed by conditional UpdateItem: no one reads an item alone,
    # puts a whole one or deletes one.
    ("dynamodb:BatchWriteItem", "AlexaViewTable.Arn"): {
        "SkillFunction",
        "StreamFunction",
        "ReconcileFunction",
    },
    ("dynamodb:PutItem", "AlexaViewTable.Arn"): set(),
    ("dynamodb:UpdateItem", "AlexaViewTable.Arn"): {
        "SkillFunction",
        "StreamFunction",
        "ReconcileFunction",
    },
    ("dynamodb:DeleteItem", "AlexaViewTable.Arn"): set(),
    ("dynamodb:Query", "AlexaViewTable.Arn"): {"ReconcileFunction", "StreamFunction"},
    ("dynamodb:GetItem", "AlexaViewTable.Arn"): set(),
    # The dead letters have one consumer: another would take batches from the reconciler.
    ("sqs:ReceiveMessage", "DeviceChangesDeadLetterQueue.Arn"): {"ReconcileFunction"},
    ("sqs:DeleteMessage", "DeviceChangesDeadLetterQueue.Arn"): {"ReconcileFunction"},
    # Account-linking tokens: the skill resolves them, no one else.
    ("dynamodb:GetItem", "TokensTable.Arn"): {"SkillFunction"},
}

# Who may assume the role of a function or a rule: the one statement of its trust policy.
# IoT's is pinned to this account's rules (the confused deputy).
EXPECTED_TRUST = {
    "AWS::Lambda::Function": {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    },
    "AWS::IoT::TopicRule": {
        "Effect": "Allow",
        "Principal": {"Service": "iot.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {
                "aws:SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:rule/*"
                }
            },
        },
    },
}

# Smart home directives carry no skill id: the invoke permission is the only check.
SMART_HOME_PRINCIPAL = "alexa-connectedhome.amazon.com"

# The one invoke permission of each function that may be invoked from outside (the stream
# function, and the reconcile function for its stream and queue, are polled by their event
# source mappings, through their roles): all its properties but Action and FunctionName. The
# bridge takes what it is given as a device's reported state, so only this stack's rule may
# invoke it, and only from this account. Only this stack's schedule may invoke the reconcile
# function (an operator invokes it through IAM, not a resource policy).
EXPECTED_INVOKERS = {
    "SkillFunction": {
        "Principal": SMART_HOME_PRINCIPAL,
        "EventSourceToken": {"Ref": "SkillId"},
    },
    "ShadowBridgeFunction": {
        "Principal": "iot.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": ["ShadowDocumentsRule", "Arn"]},
        "SourceAccount": {"Ref": "AWS::AccountId"},
    },
    "ReconcileFunction": {
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": ["ReconcileFunctionSchedule", "Arn"]},
    },
}

# Each IoT rule: what it selects and whom it invokes. Only the shadow service publishes on
# .../update/documents (devices may not), so the bridge only ever sees the shadows' own documents.
EXPECTED_RULES = {
    "ShadowDocumentsRule": {
        "Sql": "SELECT *, topic() AS topic, timestamp() AS receivedAt FROM '$aws/things/+/shadow/#'"
        " WHERE endswith(topic(), '/update/documents')",
        "Actions": [{"Lambda": {"FunctionArn": {"Fn::GetAtt": ["ShadowBridgeFunction", "Arn"]}}}],
        "ErrorQueue": "ShadowDocumentsDeadLetterQueue",
    },
}

# Where commands go and the maker's API secret: only the skill sends commands.
SKILL_ONLY_VARIABLES = {
    "DEVICE_CLOUD",
    "IOT_DATA_ENDPOINT",
    "DEVICE_API_URL",
    "DEVICE_API_SECRET",
    "DEVICE_API_TIMEOUT_MS",
    # How a directive's token names a customer (src/config.rs): only the skill resolves tokens.
    "ACCOUNT_LINKING",
    "TOKEN_ISSUER",
    "TOKEN_AUDIENCE",
    "TOKEN_USER_CLAIM",
    "TOKEN_REQUIRED_SCOPES",
    "JWKS_URL",
    "USERINFO_URL",
    "USERINFO_USER_FIELD",
}

# The account-linking parameters and the user pool's resources: the skill's environment alone
# may refer to them (not Globals, not another function).
LINKING_REFERENCES = {
    "AccountLinking",
    "TokenIssuer",
    "TokenAudience",
    "TokenUserClaim",
    "TokenRequiredScopes",
    "JwksUrl",
    "UserinfoUrl",
    "UserinfoUserField",
    "UserPool",
    "UserPoolClient",
}

# Login with Amazon's client secret: only the functions that call LWA hold it.
LWA_FUNCTIONS = {"SkillFunction", "StreamFunction", "ReconcileFunction"}
LWA_VARIABLES = {"LWA_CLIENT_ID", "LWA_CLIENT_SECRET"}

# The CloudWatch namespace of the embedded metrics (src/metrics.rs): one per stack, so that two
# deployments in one account do not add up. Every function writes there; the alarms and the
# dashboard read there.
NAMESPACE = {"Fn::Sub": "AlexaSmartHome/${AWS::StackName}"}

# Why the identity provider could not be asked (src/linking/mod.rs, ProviderError::reason), in
# the order the alarm sums them.
PROVIDER_FAILURES = (
    "timeout",
    "unreachable",
    "status_5xx",
    "status_other",
    "unparsable",
    "out_of_time",
    "recently_failed",
)

# Every metric the code writes (src/metrics.rs): its dimensions, each with the values it takes
# (None: values from the directives themselves). All are counts; there is no default dimension.
METRICS = {
    "Directives": {"Namespace": None, "Name": None, "Outcome": None},
    "DirectiveInternalErrors": {},
    "DiscoveredEndpoints": {},
    "DiscoveryDroppedDevices": {},
    "GatewayEvents": {"Event": None, "Status": None},
    "GatewayResponses": {"Class": {"2xx", "4xx", "5xx", "none"}},
    "GatewayResends": {},
    "LwaRefreshes": {"Outcome": {"fresh", "revoked", "failed"}},
    "StreamBatchItemFailures": {},
    "Reconciliations": {"Outcome": {"sent", "in_sync", "no_grant", "failed"}},
    "ReconciledEndpoints": {"Change": {"upsert", "state", "delete"}},
    "DeadLetterBatches": {"Outcome": {"recovered", "expired", "failed"}},
    # Tokens that could not be checked (the identity provider did not answer usefully), by the
    # linking mode (src/linking/config.rs, Mode::name) and why (ProviderError::reason).
    "IdentityProviderUnavailable": {
        "Mode": {"jwt", "userinfo"},
        "Reason": set(PROVIDER_FAILURES),
    },
    "KeySetFetches": {"Outcome": {"fetched", "failed"}},
}

_TABLES = {
    "DEVICES_TABLE": {"Ref": "DevicesTable"},
    "TOKENS_TABLE": {"Ref": "TokensTable"},
    "GRANTS_TABLE": {"Ref": "GrantsTable"},
    "METRICS_NAMESPACE": NAMESPACE,
}
_LWA = {"LWA_CLIENT_ID": {"Ref": "LwaClientId"}, "LWA_CLIENT_SECRET": {"Ref": "LwaClientSecret"}}
_VIEW = {"ALEXA_VIEW_TABLE": {"Ref": "AlexaViewTable"}}


def _unless_empty(condition, parameter):
    return {"Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}


# The scope of the pool's resource server that the skill requires: Cognito writes a custom scope
# as <identifier>/<scope name> in an access token's scope claim.
SKILL_SCOPE = ("alexa-smart-home", "devices")
SKILL_SCOPE_NAME = "/".join(SKILL_SCOPE)
POOL_ISSUER = {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}

# Account linking (src/config.rs): with CreateUserPool, the pool's issuer, its app client as the
# audience and its scope, whatever the parameters say; else the parameters, each omitted when
# empty, and a mode's defaulted settings only in that mode. No JWKS_URL for the pool: its key
# set is at its issuer's well-known place, the default.
_LINKING = {
    "ACCOUNT_LINKING": {"Fn::If": ["CreatesUserPool", "jwt", {"Ref": "AccountLinking"}]},
    "TOKEN_ISSUER": {
        "Fn::If": ["CreatesUserPool", POOL_ISSUER, _unless_empty("TokenIssuerSet", "TokenIssuer")]
    },
    "TOKEN_AUDIENCE": {
        "Fn::If": [
            "CreatesUserPool",
            {"Ref": "UserPoolClient"},
            _unless_empty("TokenAudienceSet", "TokenAudience"),
        ]
    },
    "TOKEN_USER_CLAIM": _unless_empty("JwtLinking", "TokenUserClaim"),
    "TOKEN_REQUIRED_SCOPES": {
        "Fn::If": [
            "CreatesUserPool",
            SKILL_SCOPE_NAME,
            _unless_empty("TokenRequiredScopesSet", "TokenRequiredScopes"),
        ]
    },
    "JWKS_URL": _unless_empty("JwksUrlSet", "JwksUrl"),
    "USERINFO_URL": _unless_empty("UserinfoUrlSet", "UserinfoUrl"),
    "USERINFO_USER_FIELD": _unless_empty("UserinfoLinking", "UserinfoUserField"),
}


# Each function: the binary it is built from (Cargo.toml's [[bin]]), its timeout and exactly the
# environment it gets (src/config.rs reads it). The skill answers within Alexa's 8 s whatever its
# timeout (src/deadline.rs); the timeout is longer so that a write that must follow a peer's
# answer is never cut halfway by it.
EXPECTED_FUNCTIONS = {
    "SkillFunction": {
        "Binary": "skill",
        "Timeout": 15,
        "Environment": {
            **_TABLES,
            **_LWA,
            **_VIEW,
            "ALEXA_EVENT_REGION": EVENT_REGION,
            "DEVICE_CLOUD": {"Ref": "DeviceCloud"},
            "IOT_DATA_ENDPOINT": _unless_empty("IotDataEndpointSet", "IotDataEndpoint"),
            "DEVICE_API_URL": _unless_empty("DeviceApiUrlSet", "DeviceApiUrl"),
            "DEVICE_API_SECRET": _unless_empty("DeviceApiSecretSet", "DeviceApiSecret"),
            "DEVICE_API_TIMEOUT_MS": {"Ref": "DeviceApiTimeoutMs"},
            "CONFIRM_WAIT_MS": {"Ref": "ConfirmWaitMs"},
            **_LINKING,
        },
    },
    "StreamFunction": {
        "Binary": "stream",
        "Timeout": 120,
        "Environment": {**_TABLES, **_LWA, **_VIEW},
    },
    "ShadowBridgeFunction": {
        "Binary": "bridge",
        "Timeout": 10,
        "Environment": _TABLES,
    },
    # A worker of the scheduled pass goes on with its segment until its deadline: Lambda's
    # longest timeout. No ALEXA_EVENT_REGION: each customer's grant says where their events go.
    "ReconcileFunction": {
        "Binary": "reconcile",
        "Timeout": 900,
        "Environment": {
            **_TABLES,
            **_LWA,
            **_VIEW,
            "RECONCILE_PAGE_SIZE": {"Ref": "ReconcilePageSize"},
            "RECONCILE_SEGMENTS": {"Ref": "ReconcileSegments"},
            "RECONCILE_INTERVAL_MINUTES": {"Ref": "ReconcileIntervalMinutes"},
        },
    },
}

# Each event source mapping, by function and source: all its properties but FunctionName and
# EventSourceArn. The devices stream's batches and parallelization come from parameters (a
# ParallelizationFactor keeps each item's records, one endpoint's, in order). The
# grants' stream answers no batch item failures (a failed customer stays requested on the
# grant), so its retries are for crashes; the dead letters report each message the reconciler
# failed on, which comes back after the queue's visibility timeout.
EXPECTED_EVENT_SOURCES = {
    ("StreamFunction", "DevicesTable.StreamArn"): {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": {"Ref": "StreamBatchSize"},
        "ParallelizationFactor": {"Ref": "StreamParallelizationFactor"},
        "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 10,
        "MaximumRecordAgeInSeconds": 21600,
        "DestinationConfig": {
            "OnFailure": {"Destination": {"Fn::GetAtt": ["DeviceChangesDeadLetterQueue", "Arn"]}}
        },
    },
    ("ReconcileFunction", "GrantsTable.StreamArn"): {
        "StartingPosition": "LATEST",
        "BatchSize": 100,
        "MaximumRetryAttempts": 2,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    },
    ("ReconcileFunction", "DeviceChangesDeadLetterQueue.Arn"): {
        "BatchSize": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    },
}

# Each scheduled rule, by the function it invokes: all its properties but Targets. The target
# passes EventBridge's own event (no Input): the function knows the schedule by its
# "Scheduled Event".
EXPECTED_SCHEDULES = {
    "ReconcileFunction": {"ScheduleExpression": {"Ref": "ReconcileSchedule"}},
}

# AWS's advice for a queue a Lambda function consumes: a visibility timeout of at least six
# times the function's timeout (plus the batching window), so that a message is not handed out
# again while an invocation may still be working on it.
VISIBILITY_TIMEOUT_FACTOR = 6

# The dead-letter queues keep a message as long as SQS can: 14 days.
DEAD_LETTER_RETENTION = 1209600

# Each table: its keys (attribute, type, key type) and the view type of its stream (None: no
# stream). The grants' stream carries keys only: the LWA tokens never leave the table through
# it. The devices' carries both images (a change told from a rename; a delete knows what was
# deleted).
EXPECTED_TABLES = {
    "DevicesTable": {
        "Keys": [("userId", "S", "HASH"), ("endpointId", "S", "RANGE")],
        "Stream": "NEW_AND_OLD_IMAGES",
    },
    "TokensTable": {"Keys": [("tokenHash", "S", "HASH")], "Stream": None},
    "GrantsTable": {"Keys": [("userId", "S", "HASH")], "Stream": "KEYS_ONLY"},
    "AlexaViewTable": {
        "Keys": [("userId", "S", "HASH"), ("endpointId", "S", "RANGE")],
        "Stream": None,
    },
}

# Where every alarm sends its notifications (AlarmActions and OKActions): the topic, when one is
# given; none otherwise.
ALARM_TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
HAS_ALARM_TOPIC = {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}


def _alarm(namespace, metric, dimensions, statistic, period, evaluated, to_alarm, threshold):
    """A one-metric alarm's properties (beyond its description, actions and missing data)."""
    properties = {
        "Namespace": namespace,
        "MetricName": metric,
        "Statistic": statistic,
        "Period": period,
        "EvaluationPeriods": evaluated,
        "DatapointsToAlarm": to_alarm,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    if dimensions:
        properties["Dimensions"] = [{"Name": k, "Value": v} for k, v in dimensions.items()]
    return properties


def _gateway_rate_alarm(failed):
    """The share (percent) of gateway answers in `failed` classes, per 5 minutes: a class
    without data counts as zero, and a period without any answer as 0 %."""
    classes = {"c2xx": "2xx", "c4xx": "4xx", "c5xx": "5xx", "cnone": "none"}
    metrics = [
        {
            "Id": metric_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": "GatewayResponses",
                    "Dimensions": [{"Name": "Class", "Value": value}],
                },
                "Period": 300,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }
        for metric_id, value in classes.items()
    ]
    numerator = " + ".join(f"FILL({metric_id}, 0)" for metric_id in failed)
    if len(failed) > 1:
        numerator = f"({numerator})"
    metrics += [
        {
            "Id": "total",
            "Expression": " + ".join(f"FILL({metric_id}, 0)" for metric_id in classes),
            "ReturnData": False,
        },
        {
            "Id": "rate",
            "Label": " and ".join(classes[m] for m in failed).replace("none", "no answer") + " %",
            "Expression": f"IF(total > 0, 100 * {numerator} / total, 0)",
            "ReturnData": True,
        },
    ]
    return {
        "Metrics": metrics,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": {"Ref": "GatewayErrorRatePercent"},
        "ComparisonOperator": "GreaterThanThreshold",
    }


def _identity_provider_alarm():
    """Tokens that could not be checked, per 5 minutes: the sum of every Reason of the configured
    mode (userinfo, else jwt: in table mode nothing is written). One metric per Reason, since a
    metric math alarm may watch at most 10 metrics (two modes would be 14) and may not SEARCH."""
    mode = {"Fn::If": ["UserinfoLinking", "userinfo", "jwt"]}
    metrics = [
        {
            "Id": reason,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": "IdentityProviderUnavailable",
                    "Dimensions": [
                        {"Name": "Mode", "Value": mode},
                        {"Name": "Reason", "Value": reason},
                    ],
                },
                "Period": 300,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }
        for reason in PROVIDER_FAILURES
    ]
    metrics.append(
        {
            "Id": "total",
            "Label": "directives whose token could not be checked",
            "Expression": " + ".join(f"FILL({reason}, 0)" for reason in PROVIDER_FAILURES),
            "ReturnData": True,
        }
    )
    return {
        "Metrics": metrics,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 5,
        "ComparisonOperator": "GreaterThanThreshold",
    }


def _lambda(function):
    return {"FunctionName": {"Ref": function}}


def _queue(queue):
    return {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}


# Every alarm (docs/operations.md): all its properties but AlarmDescription (one sentence: what
# it means and what to do), AlarmActions and OKActions (ALARM_TOPIC) and TreatMissingData
# (notBreaching: the custom metrics are written only when something happens).
EXPECTED_ALARMS = {
    # The reconciler takes each dead letter at once: one older than 15 minutes is failing.
    "DeviceChangesDeadLetterAlarm": _alarm(
        "AWS/SQS", "ApproximateAgeOfOldestMessage", _queue("DeviceChangesDeadLetterQueue"),
        statistic="Maximum", period=300, evaluated=1, to_alarm=1, threshold=900,
    ),
    # Nothing consumes this queue.
    "ShadowDocumentsDeadLetterAlarm": _alarm(
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", _queue("ShadowDocumentsDeadLetterQueue"),
        statistic="Maximum", period=300, evaluated=1, to_alarm=1, threshold=0,
    ),
    "DeadLetterExpiredAlarm": _alarm(
        NAMESPACE, "DeadLetterBatches", {"Outcome": "expired"},
        statistic="Sum", period=300, evaluated=1, to_alarm=1, threshold=0,
    ),
    "StreamIteratorAgeAlarm": _alarm(
        "AWS/Lambda", "IteratorAge", _lambda("StreamFunction"),
        statistic="Maximum", period=60, evaluated=3, to_alarm=3,
        threshold={"Ref": "IteratorAgeAlarmMs"},
    ),
    "GatewayClientErrorRateAlarm": _gateway_rate_alarm(["c4xx"]),
    "GatewayServerErrorRateAlarm": _gateway_rate_alarm(["c5xx", "cnone"]),
    "LwaRefreshFailureAlarm": _alarm(
        NAMESPACE, "LwaRefreshes", {"Outcome": "failed"},
        statistic="Sum", period=300, evaluated=3, to_alarm=2, threshold=0,
    ),
    # The skill answers every directive: a Lambda error is a crash or a timeout.
    "SkillErrorsAlarm": _alarm(
        "AWS/Lambda", "Errors", _lambda("SkillFunction"),
        statistic="Sum", period=300, evaluated=1, to_alarm=1, threshold=0,
    ),
    "SkillInternalErrorsAlarm": _alarm(
        NAMESPACE, "DirectiveInternalErrors", {},
        statistic="Sum", period=300, evaluated=1, to_alarm=1, threshold=5,
    ),
    "SkillThrottlesAlarm": _alarm(
        "AWS/Lambda", "Throttles", _lambda("SkillFunction"),
        statistic="Sum", period=300, evaluated=1, to_alarm=1, threshold=0,
    ),
    "ReconcileErrorsAlarm": _alarm(
        "AWS/Lambda", "Errors", _lambda("ReconcileFunction"),
        statistic="Sum", period=300, evaluated=1, to_alarm=1, threshold=0,
    ),
    "StreamBatchFailuresAlarm": _alarm(
        NAMESPACE, "StreamBatchItemFailures", {},
        statistic="Sum", period=300, evaluated=3, to_alarm=3, threshold=10,
    ),
    # Customers' directives fail (INTERNAL_ERROR) while the identity provider does not answer;
    # no one is unlinked by it.
    "IdentityProviderUnavailableAlarm": _identity_provider_alarm(),
}

# What the dashboard must show, beyond every alarm: every metric the code writes (GatewayEvents
# excepted: its Status values are open-ended; Directives through a SEARCH expression, for the
# same reason, and IdentityProviderUnavailable, whose two dimensions make 14 series), each with
# each of its dimension values, and the AWS metrics around them.
DASHBOARD_AWS_METRICS = [
    ("AWS/Lambda", "Errors", {"FunctionName": "${SkillFunction}"}),
    ("AWS/Lambda", "Throttles", {"FunctionName": "${SkillFunction}"}),
    ("AWS/Lambda", "Duration", {"FunctionName": "${SkillFunction}"}),
    ("AWS/Lambda", "IteratorAge", {"FunctionName": "${StreamFunction}"}),
    (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "${DeviceChangesDeadLetterQueue.QueueName}"},
    ),
    (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "${ShadowDocumentsDeadLetterQueue.QueueName}"},
    ),
]
DASHBOARD_SEARCHED = {"Directives", "IdentityProviderUnavailable"}
DASHBOARD_SKIPPED = {"GatewayEvents"}

# Parameters and their defaults (docs/deploying.md).
EXPECTED_DEFAULTS = {
    # Today's stack unless asked; a region stack's home parameters have no default.
    "Role": "home",
    "HomeRegion": "",
    "HomeDevicesTable": "",
    "HomeTokensTable": "",
    "HomeGrantsTable": "",
    "HomeAlexaViewTable": "",
    # The scheduled reconciliation: a worker tick a minute, a pass every 6 hours at most.
    "ReconcileSchedule": "rate(1 minute)",
    "ReconcileSegments": 8,
    "ReconcileIntervalMinutes": 360,
    "ReconcilePageSize": 100,
    "StreamBatchSize": 100,
    "StreamParallelizationFactor": 10,
    "AlarmTopicArn": "",
    "IteratorAgeAlarmMs": 60000,
    "GatewayErrorRatePercent": 5,
    # Today's behaviour unless asked: the tokens table, no user pool.
    "AccountLinking": "table",
    "TokenIssuer": "",
    "TokenAudience": "",
    "TokenUserClaim": "sub",
    "TokenRequiredScopes": "",
    "JwksUrl": "",
    "UserinfoUrl": "",
    "UserinfoUserField": "sub",
    "CreateUserPool": "false",
    "AlexaVendorId": "",
    "UserPoolDomainPrefix": "",
}

# The bounds of the parameters that size the work (MinValue, MaxValue; None: none): the
# reconciliation's concurrency must stay bounded (neither DynamoDB nor the gateway stampeded),
# a pass may not start more often than every 5 minutes, and Lambda takes a ParallelizationFactor
# of 1 to 10 and DynamoDB stream batches of 1 to 10,000 records.
EXPECTED_BOUNDS = {
    "ReconcileSegments": (1, 64),
    "ReconcileIntervalMinutes": (5, None),
    "ReconcilePageSize": (1, 1000),
    "StreamBatchSize": (1, 10000),
    "StreamParallelizationFactor": (1, 10),
}

# Outputs the operations page relies on.
EXPECTED_OUTPUTS = {
    "ReconcileFunctionArn": {"Fn::GetAtt": ["ReconcileFunction", "Arn"]},
    "AlexaViewTableName": {"Ref": "AlexaViewTable"},
    "DashboardName": {"Ref": "Dashboard"},
}

# Alexa's redirect URLs for a vendor (the Alexa developer console's account-linking page shows
# the same three): the pool's app client allows exactly these.
ALEXA_REDIRECT_URLS = [
    {"Fn::Sub": f"https://{host}/api/skill/link/${{AlexaVendorId}}"}
    for host in ("pitangui.amazon.com", "layla.amazon.com", "alexa.amazon.co.jp")
]

# The user pool's sign-in domain: the prefix given, else one made of the stack id's UUID.
POOL_DOMAIN = {
    "Fn::If": [
        "DomainPrefixSet",
        {"Ref": "UserPoolDomainPrefix"},
        {
            "Fn::Join": [
                "-",
                ["alexa", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}],
            ]
        },
    ]
}


def _pool_endpoint(path):
    return {
        "Fn::Sub": [
            "https://${Domain}.auth.${AWS::Region}.amazoncognito.com/oauth2/" + path,
            {"Domain": POOL_DOMAIN},
        ]
    }


# With CreateUserPool (and only then): what the Alexa developer console's account-linking page
# asks for (docs/deploying.md). The secret is not an output: the command that prints it is.
EXPECTED_POOL_OUTPUTS = {
    "AccountLinkingAuthorizationUri": _pool_endpoint("authorize"),
    "AccountLinkingAccessTokenUri": _pool_endpoint("token"),
    "AccountLinkingClientId": {"Ref": "UserPoolClient"},
    "AccountLinkingClientSecretCommand": {
        "Fn::Sub": "aws cognito-idp describe-user-pool-client --region ${AWS::Region}"
        " --user-pool-id ${UserPool} --client-id ${UserPoolClient}"
        " --query UserPoolClient.ClientSecret --output text"
    },
    "AccountLinkingAuthenticationScheme": "HTTP Basic (Recommended)",
    "AccountLinkingScopes": SKILL_SCOPE_NAME,
    "AccountLinkingRedirectUrls": {
        "Fn::Sub": " ".join(url["Fn::Sub"] for url in ALEXA_REDIRECT_URLS)
    },
    "UserPoolId": {"Ref": "UserPool"},
}

# Cognito's longest refresh token, 10 years. Alexa refreshes a customer's access token with it
# for as long as the link lasts and cannot ask the customer again: when it expires the customer
# is silently unlinked (home-assistant/core#11674, logto-io/logto#7840). Any shorter lifetime,
# a year included, only schedules that; the maximum postpones it the furthest.
MIN_REFRESH_TOKEN_DAYS = 3650
DAYS = {"days": 1, "hours": 1 / 24, "minutes": 1 / 1440, "seconds": 1 / 86400}

# The user pool's resources, each created only with CreateUserPool.
EXPECTED_POOL_RESOURCES = {
    "UserPool": "AWS::Cognito::UserPool",
    "UserPoolDomain": "AWS::Cognito::UserPoolDomain",
    "UserPoolResourceServer": "AWS::Cognito::UserPoolResourceServer",
    "UserPoolClient": "AWS::Cognito::UserPoolClient",
}
# In a home stack (the condition as the linter sees it there; the template's also says IsHome:
# a region stack's skill verifies the home stack's pool).
CREATES_USER_POOL = {"Fn::Equals": [{"Ref": "CreateUserPool"}, "true"]}


def _not_empty(parameter):
    return {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}


# The template's Rules (checked by CloudFormation before anything is created or updated): a
# linking mode without what it needs fails the deployment, not every cold start of the skill.
# Each rule's condition, and the parameters its assertions require (or, for a pair, forbid).
EXPECTED_PARAMETER_RULES = {
    "JwtNeedsIssuerAndAudience": {
        "RuleCondition": {
            "Fn::And": [
                {"Fn::Equals": [{"Ref": "AccountLinking"}, "jwt"]},
                {"Fn::Equals": [{"Ref": "CreateUserPool"}, "false"]},
            ]
        },
        "Asserts": [_not_empty("TokenIssuer"), _not_empty("TokenAudience")],
    },
    "UserinfoNeedsUrl": {
        "RuleCondition": {"Fn::Equals": [{"Ref": "AccountLinking"}, "userinfo"]},
        "Asserts": [_not_empty("UserinfoUrl")],
    },
    "UserPoolNeedsVendorId": {
        "RuleCondition": CREATES_USER_POOL,
        "Asserts": [
            _not_empty("AlexaVendorId"),
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "AccountLinking"}, "userinfo"]}]},
        ],
    },
    # Only where Alexa invokes smart home skills (ALEXA_REGIONS, in the mapping's order).
    "AlexaRegionsOnly": {
        "RuleCondition": None,
        "Asserts": [{"Fn::Contains": [list(ALEXA_REGIONS), {"Ref": "AWS::Region"}]}],
    },
    # A region stack needs the home stack's region and tables, in another region than its own,
    # and verifies the home stack's user pool rather than creating one.
    "RegionNeedsTheHomeStack": {
        "RuleCondition": ROLE_CONDITIONS["IsRegion"],
        "Asserts": [
            _not_empty("HomeRegion"),
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "HomeRegion"}, {"Ref": "AWS::Region"}]}]},
            *[_not_empty(parameter) for parameter in HOME_TABLES.values()],
            {"Fn::Equals": [{"Ref": "CreateUserPool"}, "false"]},
        ],
    },
}


# Working out a role: the template as CloudFormation would deploy it with Role (and only Role)
# given. A condition decided by it is gone; a resource or output under a false one is not
# created; an Fn::If on a decided condition is its branch (AWS::NoValue: the property is not
# there). Conditions not decided stay, simplified (And(IsHome, X) is X in a home stack).
NO_VALUE = {"Ref": "AWS::NoValue"}
_REMOVED = object()


def _known(value):
    return not isinstance(value, (dict, list))


def simplify(expression, conditions, values):
    """A condition expression with `values` (parameter → value) put in: True, False, or what is
    left undecided (an expression; a condition left undecided stays a reference to it)."""
    if not isinstance(expression, dict) or len(expression) != 1:
        return expression
    ((function, args),) = expression.items()
    if function == "Condition":
        decided = simplify(conditions.get(args), conditions, values)
        return decided if isinstance(decided, bool) else expression
    if function == "Fn::Equals":
        a, b = (
            values.get(arg["Ref"], arg) if isinstance(arg, dict) and "Ref" in arg else arg
            for arg in args
        )
        return str(a) == str(b) if _known(a) and _known(b) else {"Fn::Equals": [a, b]}
    if function == "Fn::Not":
        inner = simplify(args[0], conditions, values)
        return (not inner) if isinstance(inner, bool) else {"Fn::Not": [inner]}
    if function in ("Fn::And", "Fn::Or"):
        # True decides an Or, False an And; the other value drops out.
        decides = function == "Fn::Or"
        left = []
        for arg in args:
            part = simplify(arg, conditions, values)
            if part is decides:
                return decides
            if part is not (not decides):
                left.append(part)
        if not left:
            return not decides
        return left[0] if len(left) == 1 else {function: left}
    return expression


def resolve(value, decided):
    """`value` with each Fn::If on a condition of `decided` (name → bool) replaced by its
    branch; a branch of AWS::NoValue removes the property or list item holding it."""
    if isinstance(value, list):
        items = [resolve(v, decided) for v in value]
        return [v for v in items if v is not _REMOVED]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::If"} and value["Fn::If"][0] in decided:
        condition, when_true, when_false = value["Fn::If"]
        branch = resolve(when_true if decided[condition] else when_false, decided)
        return _REMOVED if branch == NO_VALUE else branch
    items = {k: resolve(v, decided) for k, v in value.items()}
    return {k: v for k, v in items.items() if v is not _REMOVED}


def for_role(template, role, values=None):
    """A copy of a translated template as a stack of `role` is deployed (see above); `values`
    may decide more parameters."""
    values = {"Role": role, **(values or {})}
    conditions = template.get("Conditions", {})
    decided, left = {}, {}
    for key, expression in conditions.items():
        outcome = simplify({"Condition": key}, conditions, values)
        if isinstance(outcome, bool):
            decided[key] = outcome
        else:
            left[key] = simplify(expression, conditions, values)
    result = {k: v for k, v in template.items() if k not in ("Conditions", "Resources", "Outputs")}
    if left:
        result["Conditions"] = left
    for section in ("Resources", "Outputs"):
        kept = {}
        for key, item in template.get(section, {}).items():
            condition = item.get("Condition")
            if condition in decided and not decided[condition]:
                continue
            item = {k: v for k, v in item.items() if not (k == "Condition" and v in decided)}
            kept[key] = resolve(item, decided)
        result[section] = kept
    for item in result["Resources"].values():
        if "DependsOn" in item:
            depends = [d for d in as_list(item["DependsOn"]) if d in result["Resources"]]
            item["DependsOn"] = depends
            if not depends:
                del item["DependsOn"]
    return result


# A region stack (Role=region): the skill function alone, with its role, log group, Alexa's
# invoke permission and the skill's own alarms. No table (it uses the home stack's), no stream
# consumer or queue (the home stack's functions send every event, once), no other function, no
# user pool (it verifies the home stack's), no dashboard.
EXPECTED_REGION_RESOURCES = {
    "SkillFunction": "AWS::Lambda::Function",
    "SkillFunctionRole": "AWS::IAM::Role",
    "SkillFunctionLogGroup": "AWS::Logs::LogGroup",
    "AlexaSmartHomeInvokePermission": "AWS::Lambda::Permission",
    "SkillErrorsAlarm": "AWS::CloudWatch::Alarm",
    "SkillInternalErrorsAlarm": "AWS::CloudWatch::Alarm",
    "SkillThrottlesAlarm": "AWS::CloudWatch::Alarm",
}
EXPECTED_REGION_ALARMS = {
    key: EXPECTED_ALARMS[key]
    for key, type in EXPECTED_REGION_RESOURCES.items()
    if type == "AWS::CloudWatch::Alarm"
}


def in_home_region(resource):
    """A resource of the home skill's role as the region skill's: a home table by its ARN in
    HomeRegion, the home region's thing shadows; its own log group as it is."""
    match = re.fullmatch(r"(\w+)\.Arn", resource)
    if match and match[1] in HOME_TABLES:
        return home_table_arn(match[1])
    return HOME_THING_SHADOWS if resource == THING_SHADOWS else resource


# Exactly the home skill's actions, each on the home stack's table (or things) in HomeRegion.
EXPECTED_REGION_PERMISSIONS = {
    "SkillFunction": {
        (action, in_home_region(resource))
        for action, resource in EXPECTED_PERMISSIONS["SkillFunction"]
    },
}

# The region skill's environment: the home skill's with the home stack's table names, its
# region in HOME_REGION, and no user pool of its own.
EXPECTED_REGION_FUNCTIONS = {
    "SkillFunction": {
        **EXPECTED_FUNCTIONS["SkillFunction"],
        "Environment": {
            **resolve(
                EXPECTED_FUNCTIONS["SkillFunction"]["Environment"], {"CreatesUserPool": False}
            ),
            **{variable: {"Ref": p} for variable, p in HOME_TABLE_VARIABLES.items()},
            "HOME_REGION": {"Ref": "HomeRegion"},
        },
    },
}

# What the Alexa developer console needs of a region stack: its skill's ARN, alone.
EXPECTED_REGION_OUTPUTS = {"SkillFunctionArn": {"Fn::GetAtt": ["SkillFunction", "Arn"]}}


def as_list(value):
    return value if isinstance(value, list) else [value]


def name(ref):
    """{"Fn::GetAtt": ["T", "Arn"]} or "T.Arn" → "T.Arn"; {"Ref": "T"} → "T"; "*" → "*";
    {"Fn::Sub": "…"} → "…" (its variables unresolved)."""
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        att = ref["Fn::GetAtt"]
        return ".".join(att) if isinstance(att, list) else att
    if isinstance(ref, dict) and "Ref" in ref:
        return ref["Ref"]
    if isinstance(ref, dict) and isinstance(ref.get("Fn::Sub"), str):
        return ref["Fn::Sub"]
    return ref if isinstance(ref, str) else repr(ref)


def normal(value):
    """`value` with every GetAtt in its list form and every number a float (300, 300.0 and
    "300" are one value to CloudFormation), so that two spellings compare equal."""
    if isinstance(value, dict):
        return {
            k: (v.split(".", 1) if k == "Fn::GetAtt" and isinstance(v, str) else normal(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
        return float(value)
    return value


def differences(what, actual, expected):
    """One problem for each property of `actual` that is not as in `expected`."""
    actual, expected = normal(actual), normal(expected)
    return [
        f"{what}: {prop} is {actual.get(prop)!r}, not {expected.get(prop)!r}"
        for prop in sorted(actual.keys() | expected.keys())
        if actual.get(prop) != expected.get(prop)
    ]


def of_type(resources, type):
    return {key: r for key, r in resources.items() if r["Type"] == type}


def number(value, default=None):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def arn_form(resource):
    """A resource as the ARN it stands for: "T.Arn" → "${T.Arn}", "T.StreamArn" → a stream of
    T ("${T.Arn}/stream/…"); a pattern or literal as written."""
    match = re.fullmatch(r"(\w+)\.StreamArn", resource)
    if match:
        return "${%s.Arn}/stream/STREAM" % match[1]
    match = re.fullmatch(r"(\w+)\.Arn", resource)
    return "${%s.Arn}" % match[1] if match else resource


def covers(granted, wanted):
    """Whether an allowed (action, resource), perhaps with wildcards, allows `wanted`."""
    (g_action, g_resource), (w_action, w_resource) = granted, wanted
    # IAM matches actions without regard to case.
    if not fnmatch.fnmatchcase(w_action.lower(), g_action.lower()):
        return False
    pattern = arn_form(g_resource)
    if pattern == arn_form(w_resource):
        return True
    if "*" not in pattern and "?" not in pattern:
        return False
    if pattern.startswith("${"):
        return fnmatch.fnmatchcase(arn_form(w_resource), pattern)
    # A literal ARN pattern: this template's resources have generated names, so it is taken
    # to match every resource of its service.
    service = w_action.split(":", 1)[0].lower()
    return pattern == "*" or f":{service}:" in pattern.lower()


def role_arns(value):
    """Every RoleArn anywhere in `value` (an IoT rule's payload)."""
    if isinstance(value, dict):
        found = [value["RoleArn"]] if "RoleArn" in value else []
        return found + [r for k, v in value.items() if k != "RoleArn" for r in role_arns(v)]
    if isinstance(value, list):
        return [r for v in value for r in role_arns(v)]
    return []


def role_of(resource):
    """The logical id of the role a function runs as, or that a rule's actions are taken as."""
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::IoT::TopicRule":
        roles = {name(r).removesuffix(".Arn") for r in role_arns(props.get("TopicRulePayload"))}
        return roles.pop() if len(roles) == 1 else f"not one role: {sorted(roles)}"
    return name(props.get("Role")).removesuffix(".Arn")


def role_permissions(role):
    """Every (action, resource) the role's policies allow, and what cannot be read as such."""
    allowed, problems = set(), []
    props = role.get("Properties", {})
    if props.get("ManagedPolicyArns"):
        problems.append(f"managed policies attached: {props['ManagedPolicyArns']}")
    for policy in props.get("Policies", []):
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            odd = {"NotAction", "NotResource"} & statement.keys()
            if statement.get("Effect") != "Allow" or odd or "Condition" in statement:
                problems.append(f"statement not a plain Allow: {statement}")
                continue
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    allowed.add((action, name(resource)))
    return allowed, problems


def check_invokers(resources, invokers=None):
    """Each invoke permission is the one expected of its function (`invokers`, by default
    EXPECTED_INVOKERS), and nothing more."""
    invokers = EXPECTED_INVOKERS if invokers is None else invokers
    problems, invoked = [], []
    for key, r in resources.items():
        if r["Type"] != "AWS::Lambda::Permission":
            continue
        props = normal(r["Properties"])
        function = name(props.get("FunctionName")).removesuffix(".Arn")
        invoked.append(function)
        if function not in invokers:
            problems.append(f"{key}: an invoke permission on {function}, which takes none")
            continue
        if props.get("Action") != "lambda:InvokeFunction":
            problems.append(f"{key}: action is not lambda:InvokeFunction")
        expected = normal(invokers[function])
        for prop in sorted(expected.keys() | (props.keys() - {"Action", "FunctionName"})):
            if props.get(prop) != expected.get(prop):
                problems.append(
                    f"{key}: {prop} is {props.get(prop)!r}, not {expected.get(prop)!r}"
                )
    for function in invokers:
        if invoked.count(function) != 1:
            problems.append(f"expected one invoke permission on {function}: {sorted(invoked)}")
    return problems


def check_rules(resources):
    """Each IoT rule selects what is expected and hands it only where expected."""
    problems = []
    for key, r in resources.items():
        if r["Type"] != "AWS::IoT::TopicRule":
            continue
        if key not in EXPECTED_RULES:
            problems.append(f"{key}: an IoT rule not reviewed")
            continue
        expected = EXPECTED_RULES[key]
        payload = normal(r["Properties"]["TopicRulePayload"])
        if payload.get("Sql") != expected["Sql"]:
            problems.append(f"{key}: selects {payload.get('Sql')!r}, not {expected['Sql']!r}")
        if payload.get("Actions") != normal(expected["Actions"]):
            problems.append(f"{key}: its actions are {payload.get('Actions')}, not as reviewed")
        error_action = payload.get("ErrorAction", {})
        queue = name(error_action.get("Sqs", {}).get("QueueUrl"))
        if set(error_action) != {"Sqs"} or queue != expected["ErrorQueue"]:
            problems.append(f"{key}: the error action is not SQS to {expected['ErrorQueue']}")
    return problems


def check_bridge_failures(resources):
    """A shadow document the bridge failed on is kept, not dropped: its asynchronous
    invocations end in the rule's dead-letter queue."""
    for r in resources.values():
        if r["Type"] != "AWS::Lambda::EventInvokeConfig":
            continue
        p = r["Properties"]
        if name(p.get("FunctionName")) != "ShadowBridgeFunction":
            continue
        on_failure = p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if name(on_failure) == "ShadowDocumentsDeadLetterQueue.Arn":
            return []
    return ["ShadowBridgeFunction: failed invocations are not sent to ShadowDocumentsDeadLetterQueue"]


def check_indexes(resources, allowed):
    """An index a role is scoped to exists: else the function fails, or a later index of that
    name (perhaps projecting more) is what it may read."""
    problems = []
    for action, resource in sorted(allowed):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/(.+)", resource)
        if not match:
            continue
        table, index = match.groups()
        props = resources.get(table, {}).get("Properties", {})
        indexes = props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])
        if index not in [i.get("IndexName") for i in indexes]:
            problems.append(f"{action} on {resource}: {table} has no index {index}")
    return problems


def check_parameters(template, allowed):
    """Parameters that end up in an IAM resource cannot add wildcards (their pattern, or their
    allowed values, refuse them); secrets are not echoed."""
    problems = []
    parameters = template.get("Parameters", {})
    for _, resource in sorted(allowed):
        for variable in re.findall(r"\$\{(\w+)\}", resource):
            if variable not in parameters:
                continue
            pattern = parameters[variable].get("AllowedPattern")
            values = parameters[variable].get("AllowedValues")
            if values is not None:
                wild = any("*" in str(v) or "?" in str(v) for v in values)
            else:
                # CloudFormation matches the whole value against the pattern.
                wild = pattern is None or any(
                    re.fullmatch(pattern, v) for v in ("*", "?", "a*", "a?")
                )
            if wild:
                problems.append(f"{variable} is in {resource}, but may hold * or ?")
    for key, parameter in parameters.items():
        if "Secret" in key and not parameter.get("NoEcho"):
            problems.append(f"{key} is not NoEcho")
    return problems


def check_user_pool(template):
    """With CreateUserPool, and only then, an authorization server Alexa can keep a link with:
    the authorization code grant alone, with a secret, redirecting only to Alexa's three URLs
    for the vendor id, refresh tokens that outlive any link and are not rotated, the skill's
    scope. (That the skill verifies the pool's tokens is in EXPECTED_FUNCTIONS.)"""
    resources, problems = template["Resources"], []
    if normal(template.get("Conditions", {}).get("CreatesUserPool")) != normal(CREATES_USER_POOL):
        problems.append(f"the condition CreatesUserPool is not {CREATES_USER_POOL}")
    cognito = {k for k, r in resources.items() if r["Type"].startswith("AWS::Cognito::")}
    for key in sorted(cognito - EXPECTED_POOL_RESOURCES.keys()):
        problems.append(f"{key}: a Cognito resource not reviewed")
    present = {}
    for key, type in EXPECTED_POOL_RESOURCES.items():
        r = resources.get(key)
        if r is None or r["Type"] != type:
            problems.append(f"no {type} {key}")
            continue
        present[key] = r.get("Properties", {})
        if r.get("Condition") != "CreatesUserPool":
            problems.append(
                f"{key}: not created only with CreateUserPool (Condition CreatesUserPool)"
            )
        if key != "UserPool" and normal(present[key].get("UserPoolId")) != {"Ref": "UserPool"}:
            problems.append(f"{key}: not of UserPool")
    if "UserPool" in present:
        pool = resources["UserPool"]
        if (pool.get("DeletionPolicy"), pool.get("UpdateReplacePolicy")) != ("Retain", "Retain"):
            problems.append(
                "UserPool: not retained when the stack or the resource goes (it holds the"
                " customers' accounts and links)"
            )
    if "UserPoolResourceServer" in present:
        server = present["UserPoolResourceServer"]
        identifier, scope = SKILL_SCOPE
        scopes = [s.get("ScopeName") for s in server.get("Scopes", [])]
        if server.get("Identifier") != identifier or scope not in scopes:
            problems.append(f"UserPoolResourceServer: does not define the scope {SKILL_SCOPE_NAME}")
    if "UserPoolDomain" in present:
        if normal(present["UserPoolDomain"].get("Domain")) != normal(POOL_DOMAIN):
            problems.append(f"UserPoolDomain: Domain is not {POOL_DOMAIN} (the outputs' URIs)")
    if "UserPoolClient" in present:
        problems += check_pool_client(present["UserPoolClient"])
    vendor = template.get("Parameters", {}).get("AlexaVendorId", {}).get("AllowedPattern")
    # It ends up in the redirect URLs: no path, query or host of another's.
    if vendor is None or any(re.fullmatch(vendor, v) for v in ("a/b", "a?b", "a#b", "a b", "a.b")):
        problems.append("AlexaVendorId may hold characters that change the redirect URLs")
    for key in ("TokenIssuer", "JwksUrl", "UserinfoUrl"):
        pattern = template.get("Parameters", {}).get(key, {}).get("AllowedPattern")
        if pattern is None or re.fullmatch(pattern, "http://idp.example.com"):
            problems.append(f"{key} may be an http:// URL: tokens and key sets go over https only")
    return problems


def check_pool_client(client):
    """The pool's app client, Alexa's: see check_user_pool."""
    problems = []
    if client.get("GenerateSecret") is not True:
        problems.append("UserPoolClient: no secret (GenerateSecret): Alexa authenticates with one")
    if client.get("AllowedOAuthFlows") != ["code"]:
        problems.append(
            f"UserPoolClient: AllowedOAuthFlows are {client.get('AllowedOAuthFlows')},"
            " not the authorization code grant alone (no implicit: no refresh token)"
        )
    if client.get("AllowedOAuthFlowsUserPoolClient") is not True:
        problems.append("UserPoolClient: OAuth flows not enabled (AllowedOAuthFlowsUserPoolClient)")
    if client.get("SupportedIdentityProviders") != ["COGNITO"]:
        problems.append("UserPoolClient: SupportedIdentityProviders is not [COGNITO]")
    if SKILL_SCOPE_NAME not in client.get("AllowedOAuthScopes", []):
        problems.append(f"UserPoolClient: AllowedOAuthScopes lack {SKILL_SCOPE_NAME}")
    urls = [normal(u) for u in client.get("CallbackURLs", [])]
    expected = [normal(u) for u in ALEXA_REDIRECT_URLS]
    lacking = [name(u) for u in expected if u not in urls]
    if lacking:
        problems.append(f"UserPoolClient: CallbackURLs lack {lacking}")
    others = [name(u) for u in urls if u not in expected]
    if others:
        problems.append(f"UserPoolClient: CallbackURLs allow {others}, not Alexa's")
    value = number(client.get("RefreshTokenValidity"), 30)
    unit = client.get("TokenValidityUnits", {}).get("RefreshToken", "days")
    days = value * DAYS.get(unit, 0)
    if days < MIN_REFRESH_TOKEN_DAYS:
        problems.append(
            f"UserPoolClient: refresh tokens live {days:g} days, under {MIN_REFRESH_TOKEN_DAYS}:"
            " Alexa's customers would be silently unlinked when theirs expires"
        )
    if client.get("RefreshTokenRotation", {}).get("Feature", "DISABLED") != "DISABLED":
        problems.append("UserPoolClient: refresh tokens rotated: Alexa keeps the first one")
    flows = client.get("ExplicitAuthFlows")
    if flows is not None and "ALLOW_REFRESH_TOKEN_AUTH" not in flows:
        problems.append("UserPoolClient: ExplicitAuthFlows lack ALLOW_REFRESH_TOKEN_AUTH")
    if client.get("EnableTokenRevocation") is not True:
        problems.append("UserPoolClient: EnableTokenRevocation is not true")
    if client.get("PreventUserExistenceErrors") != "ENABLED":
        problems.append("UserPoolClient: PreventUserExistenceErrors is not ENABLED")
    return problems


def check_parameter_rules(template):
    """The Rules refuse a linking mode without what it needs, before anything is deployed."""
    problems, rules = [], template.get("Rules", {})
    for key, expected in EXPECTED_PARAMETER_RULES.items():
        rule = rules.get(key)
        if rule is None:
            problems.append(f"no rule {key}")
            continue
        if normal(rule.get("RuleCondition")) != normal(expected["RuleCondition"]):
            problems.append(
                f"rule {key}: applies when {rule.get('RuleCondition')}, not as reviewed"
            )
        assertions = rule.get("Assertions", [])
        asserted = [normal(a.get("Assert")) for a in assertions]
        for wanted in expected["Asserts"]:
            if normal(wanted) not in asserted:
                problems.append(f"rule {key}: does not assert {wanted}")
        if not all(a.get("AssertDescription") for a in assertions):
            problems.append(f"rule {key}: an assertion without AssertDescription")
    return problems


def check_environment(resources):
    """Where commands go, the maker's API secret and the account-linking settings are the
    skill's alone (no other function's variable refers to a linking parameter or the user
    pool); the LWA secret is the LWA callers'; every function writes its metrics where the
    alarms look."""
    problems = []
    for key, r in resources.items():
        if r["Type"] != "AWS::Lambda::Function":
            continue
        environment = r["Properties"].get("Environment", {}).get("Variables", {})
        variables = environment.keys()
        if "METRICS_NAMESPACE" not in variables:
            problems.append(
                f"{key} lacks METRICS_NAMESPACE: its metrics go to the default namespace"
            )
        elif normal(environment["METRICS_NAMESPACE"]) != normal(NAMESPACE):
            problems.append(
                f"{key}: METRICS_NAMESPACE is {environment['METRICS_NAMESPACE']!r},"
                f" not the alarms' {NAMESPACE!r}"
            )
        if key == "SkillFunction":
            for variable in sorted(SKILL_ONLY_VARIABLES - variables):
                problems.append(f"SkillFunction lacks {variable}")
        else:
            for variable in sorted(SKILL_ONLY_VARIABLES & variables):
                problems.append(f"{key} has {variable}, which only the skill needs")
        if key in LWA_FUNCTIONS:
            for variable in sorted(LWA_VARIABLES - variables):
                problems.append(f"{key} lacks {variable}")
        else:
            for variable in sorted(LWA_VARIABLES & variables):
                problems.append(f"{key} has {variable}, which only the LWA callers need")
        if key != "SkillFunction":
            for variable, value in sorted(environment.items()):
                for reference in sorted(references(value) & LINKING_REFERENCES):
                    problems.append(
                        f"{key}: {variable} refers to {reference}, which only the skill's"
                        " environment may"
                    )
    return problems


def references(value):
    """Every parameter or resource `value` refers to (Ref, GetAtt, a Sub's variables)."""
    if isinstance(value, list):
        return {r for v in value for r in references(v)}
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, v in value.items():
        if key == "Ref" and isinstance(v, str):
            found.add(v)
        elif key == "Fn::GetAtt":
            found.add(name(value).split(".", 1)[0])
        elif key == "Fn::Sub":
            text = v[0] if isinstance(v, list) else v
            if isinstance(text, str):
                found |= {r.split(".", 1)[0] for r in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= references(v[1:] if isinstance(v, list) else [])
        else:
            found |= references(v)
    return found


def check_functions(resources, binaries=None, reviewed=None):
    """Each function is reviewed (`reviewed`, by default EXPECTED_FUNCTIONS): built from its
    binary (one of `binaries`, when given), with its timeout, exactly its environment, and its
    logs in its own log group."""
    reviewed = EXPECTED_FUNCTIONS if reviewed is None else reviewed
    problems = []
    functions = of_type(resources, "AWS::Lambda::Function")
    for key in sorted(functions.keys() - reviewed.keys()):
        problems.append(f"{key}: a function not reviewed")
    for key, expected in reviewed.items():
        if key not in functions:
            problems.append(f"{key}: no such function")
            continue
        r, props = functions[key], functions[key]["Properties"]
        metadata = r.get("Metadata", {})
        binary = metadata.get("BuildProperties", {}).get("Binary")
        if metadata.get("BuildMethod") != "rust-cargolambda" or binary != expected["Binary"]:
            problems.append(
                f"{key}: binary {binary!r} ({metadata.get('BuildMethod')}),"
                f" not {expected['Binary']!r} (rust-cargolambda)"
            )
        if binaries is not None and expected["Binary"] not in binaries:
            problems.append(f"{key}: Cargo.toml has no [[bin]] {expected['Binary']!r}")
        if (props.get("Runtime"), props.get("Handler")) != ("provided.al2023", "bootstrap"):
            problems.append(f"{key}: not the provided.al2023 runtime with its bootstrap")
        if number(props.get("Timeout")) != expected["Timeout"]:
            problems.append(f"{key}: timeout {props.get('Timeout')}, not {expected['Timeout']}")
        environment = props.get("Environment", {}).get("Variables", {})
        problems += differences(f"{key}'s environment", environment, expected["Environment"])
        logging = props.get("LoggingConfig", {})
        if name(logging.get("LogGroup")) != f"{key}LogGroup" or logging.get("LogFormat") != "JSON":
            problems.append(f"{key}: does not log JSON to {key}LogGroup, its role's log group")
    return problems


def check_event_sources(resources):
    """Each event source mapping is one reviewed, with exactly its reviewed settings."""
    problems, seen = [], []
    for key, r in of_type(resources, "AWS::Lambda::EventSourceMapping").items():
        props = r["Properties"]
        source = (name(props.get("FunctionName")), name(props.get("EventSourceArn")))
        seen.append(source)
        if source not in EXPECTED_EVENT_SOURCES:
            problems.append(f"{key}: {source[0]} fed by {source[1]}, which is not reviewed")
            continue
        settings = {k: v for k, v in props.items() if k not in ("FunctionName", "EventSourceArn")}
        problems += differences(key, settings, EXPECTED_EVENT_SOURCES[source])
    for function, source in EXPECTED_EVENT_SOURCES:
        if seen.count((function, source)) != 1:
            problems.append(f"expected one event source mapping of {source} to {function}")
    return problems


def check_schedules(resources):
    """Each EventBridge rule is a reviewed schedule of one function, passing EventBridge's own
    event, which is how the function knows it."""
    problems, seen = [], []
    for key, r in of_type(resources, "AWS::Events::Rule").items():
        props = dict(r["Properties"])
        targets = props.pop("Targets", [])
        if props.get("State", "ENABLED") == "ENABLED":
            props.pop("State", None)
        functions = [name(t.get("Arn")).removesuffix(".Arn") for t in targets]
        if len(functions) != 1 or functions[0] not in EXPECTED_SCHEDULES:
            problems.append(f"{key}: targets {functions}, not one scheduled function")
            continue
        seen.append(functions[0])
        problems += differences(key, props, EXPECTED_SCHEDULES[functions[0]])
        passed = set(targets[0]) - {"Arn", "Id"}
        if passed:
            problems.append(f"{key}: its target sets {sorted(passed)}: not a Scheduled Event")
    for function in EXPECTED_SCHEDULES:
        if seen.count(function) != 1:
            problems.append(f"expected one schedule of {function}")
    return problems


def check_queues(resources):
    """A queue a function consumes hides a message for at least 6 times the function's timeout
    (plus its batching window); each queue keeps its messages 14 days, encrypted."""
    problems = []
    queues = of_type(resources, "AWS::SQS::Queue")
    for key, q in queues.items():
        props = q.get("Properties", {})
        if number(props.get("MessageRetentionPeriod")) != DEAD_LETTER_RETENTION:
            problems.append(
                f"{key}: keeps messages {props.get('MessageRetentionPeriod')} s,"
                f" not {DEAD_LETTER_RETENTION} s (14 days)"
            )
        if props.get("SqsManagedSseEnabled") is not True and "KmsMasterKeyId" not in props:
            problems.append(f"{key}: not encrypted at rest")
    for key, r in of_type(resources, "AWS::Lambda::EventSourceMapping").items():
        props = r["Properties"]
        queue = name(props.get("EventSourceArn")).removesuffix(".Arn")
        if queue not in queues:
            continue
        function = resources.get(name(props.get("FunctionName")), {}).get("Properties", {})
        timeout = number(function.get("Timeout"), 3)
        window = number(props.get("MaximumBatchingWindowInSeconds"), 0)
        needed = VISIBILITY_TIMEOUT_FACTOR * timeout + window
        visibility = number(queues[queue].get("Properties", {}).get("VisibilityTimeout"), 30)
        if visibility < needed:
            problems.append(
                f"{queue}: VisibilityTimeout {visibility:g} s, under {VISIBILITY_TIMEOUT_FACTOR}"
                f" x {name(props.get('FunctionName'))}'s timeout {timeout:g} s"
                f" (+ batching window {window:g} s) = {needed:g} s"
            )
    return problems


def check_tables(resources):
    """Each table is reviewed: its keys, its stream (keys only for the grants), on-demand, and
    encrypted."""
    problems = []
    tables = of_type(resources, "AWS::DynamoDB::Table")
    for key in sorted(tables.keys() - EXPECTED_TABLES.keys()):
        problems.append(f"{key}: a table not reviewed")
    for key, expected in EXPECTED_TABLES.items():
        if key not in tables:
            problems.append(f"{key}: no such table")
            continue
        props = tables[key]["Properties"]
        types = {
            a["AttributeName"]: a["AttributeType"] for a in props.get("AttributeDefinitions", [])
        }
        keys = [
            (k["AttributeName"], types.get(k["AttributeName"]), k["KeyType"])
            for k in props.get("KeySchema", [])
        ]
        if keys != expected["Keys"]:
            problems.append(f"{key}: keys {keys}, not {expected['Keys']}")
        view = props.get("StreamSpecification", {}).get("StreamViewType")
        if view != expected["Stream"]:
            problems.append(f"{key}: stream view type {view}, not {expected['Stream']}")
        if props.get("BillingMode") != "PAY_PER_REQUEST":
            problems.append(f"{key}: not PAY_PER_REQUEST")
        if props.get("SSESpecification", {}).get("SSEEnabled") is not True:
            problems.append(f"{key}: SSE not enabled")
    return problems


def check_metric(where, namespace, metric, dimensions):
    """A custom metric the code writes, with the dimensions (and values) it writes it with:
    else the alarm or graph watches a metric that never has data."""
    if normal(namespace) != normal(NAMESPACE) and namespace != NAMESPACE["Fn::Sub"]:
        return []
    if metric not in METRICS:
        return [f"{where}: {metric} is not a metric the code writes"]
    expected = METRICS[metric]
    if set(dimensions) != set(expected):
        return [f"{where}: {metric} has dimensions {sorted(expected)}, not {sorted(dimensions)}"]
    return [
        f"{where}: {metric} has no {dimension} {value!r}"
        for dimension, value in dimensions.items()
        if expected[dimension] is not None
        for value in branches(value)
        if value not in expected[dimension]
    ]


def branches(value):
    """The values a dimension value may take: both of an Fn::If's; none of a SEARCH's (None)."""
    if value is None:
        return []
    if isinstance(value, dict) and "Fn::If" in value:
        return [v for branch in value["Fn::If"][1:] for v in branches(branch)]
    return [value]


def check_alarms(template, reviewed=None):
    """Every alarm is one reviewed (`reviewed`, by default EXPECTED_ALARMS): exactly its metric,
    statistic and threshold, a description in one sentence, actions to AlarmTopicArn when it is
    given, missing data not breaching."""
    reviewed = EXPECTED_ALARMS if reviewed is None else reviewed
    problems = []
    resources = template["Resources"]
    parameters = template.get("Parameters", {})
    if parameters.get("AlarmTopicArn", {}).get("Default") != "":
        problems.append("AlarmTopicArn must be optional (Default empty)")
    if normal(template.get("Conditions", {}).get("HasAlarmTopic")) != normal(HAS_ALARM_TOPIC):
        problems.append(f"the condition HasAlarmTopic is not {HAS_ALARM_TOPIC}")
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    for key in sorted(alarms.keys() - reviewed.keys()):
        problems.append(f"{key}: an alarm not reviewed")
    for key in reviewed:
        if key not in alarms:
            problems.append(f"no alarm {key}")
    for key in sorted(alarms.keys() & reviewed.keys()):
        props = dict(alarms[key]["Properties"])
        description = props.pop("AlarmDescription", "")
        sentences = re.findall(r"[.!?](?:\s|$)", description)
        if not re.fullmatch(r"[A-Z][^\n]*\.", description) or len(sentences) != 1:
            problems.append(f"{key}: AlarmDescription is not one sentence: {description!r}")
        elif len(description) > 1024:
            problems.append(f"{key}: AlarmDescription longer than CloudWatch's 1,024 characters")
        for actions in ("AlarmActions", "OKActions"):
            if normal(props.pop(actions, None)) != normal(ALARM_TOPIC):
                problems.append(f"{key}: {actions} are not AlarmTopicArn through HasAlarmTopic")
        if props.pop("TreatMissingData", None) != "notBreaching":
            problems.append(f"{key}: TreatMissingData is not notBreaching")
        problems += differences(key, props, reviewed[key])
        watched = [props] + [
            m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m
        ]
        reasons = set()
        for metric in watched:
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            problems += check_metric(
                key, metric.get("Namespace"), metric.get("MetricName"), dimensions
            )
            if metric.get("MetricName") == "IdentityProviderUnavailable":
                reasons |= set(branches(dimensions.get("Reason")))
        # A directive the provider failed for a reason the alarm does not watch would go unseen.
        if reasons and reasons != set(PROVIDER_FAILURES):
            problems.append(
                f"{key}: does not count Reason {sorted(set(PROVIDER_FAILURES) - reasons)}"
            )
    return problems


def dashboard_rows(metrics):
    """The graphed rows of a widget's `metrics`: (namespace, metric, dimensions) or an
    expression, with "." (the row above's value) resolved."""
    rows, previous = [], []
    for row in metrics:
        items = [i for i in row if not isinstance(i, dict)]
        options = [i for i in row if isinstance(i, dict)]
        if not items:
            rows.append(("expression", options[0].get("expression", "") if options else ""))
            continue
        items = [
            previous[i] if item == "." and i < len(previous) else item
            for i, item in enumerate(items)
        ]
        previous = items
        rows.append(("metric", (items[0], items[1], dict(zip(items[2::2], items[3::2])))))
    return rows


SEARCH = re.compile(
    r"SEARCH\('\{\s*\"?(?P<namespace>[^,\"]+)\"?\s*,(?P<dimensions>[^}]*)\}"
    r"\s*MetricName=\"(?P<metric>\w+)\"(?P<rest>[^']*)'"
)


def check_dashboard(template):
    """The dashboard graphs every metric the code writes (each dimension value), the AWS
    metrics around them, and shows every alarm; it refers to nothing the template lacks."""
    resources, problems = template["Resources"], []
    dashboards = of_type(resources, "AWS::CloudWatch::Dashboard")
    if list(dashboards) != ["Dashboard"]:
        return [f"expected one dashboard, Dashboard: {sorted(dashboards)}"]
    body = dashboards["Dashboard"]["Properties"].get("DashboardBody")
    sub = body.get("Fn::Sub") if isinstance(body, dict) else None
    if not isinstance(sub, str):
        return ["the dashboard body is not a !Sub of a string"]
    known = set(resources) | set(template.get("Parameters", {}))
    for reference in re.findall(r"\$\{([^}!]+)\}", sub):
        if reference.split(".", 1)[0] not in known and not reference.startswith("AWS::"):
            problems.append(f"the dashboard refers to {reference}, which the template lacks")
    try:
        widgets = json.loads(sub)["widgets"]
    except (ValueError, KeyError, TypeError) as e:
        return problems + [f"the dashboard body is not JSON with widgets: {e}"]
    shown_alarms, graphed, searched = [], set(), set()
    for i, widget in enumerate(widgets):
        props = widget.get("properties", {})
        where = f"dashboard widget {i} ({props.get('title')})"
        if widget.get("type") == "alarm":
            shown_alarms += props.get("alarms", [])
            continue
        if widget.get("type") != "metric":
            continue
        if props.get("region") != "${AWS::Region}":
            problems.append(f"{where}: region is not the stack's")
        for kind, row in dashboard_rows(props.get("metrics", [])):
            if kind == "metric":
                namespace, metric, dimensions = row
                graphed.add((namespace, metric, tuple(sorted(dimensions.items()))))
                problems += check_metric(where, namespace, metric, dimensions)
                continue
            for match in SEARCH.finditer(row):
                dimensions = {d.strip() for d in match["dimensions"].split(",")}
                searched.add(match["metric"])
                problems += check_metric(
                    where, match["namespace"], match["metric"], dict.fromkeys(dimensions)
                )
            if "SEARCH(" in row and not SEARCH.search(row):
                problems.append(f"{where}: a SEARCH not of one metric's schema: {row}")
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    expected_alarms = sorted("${%s.Arn}" % key for key in alarms)
    missing = sorted(set(expected_alarms) - set(shown_alarms))
    if missing:
        problems.append(f"the dashboard's alarm widgets lack {missing}")
    unknown = sorted(set(shown_alarms) - set(expected_alarms))
    if unknown:
        problems.append(f"the dashboard's alarm widgets show {unknown}, not alarms of the template")
    namespace = NAMESPACE["Fn::Sub"]
    for metric, dimensions in METRICS.items():
        if metric in DASHBOARD_SKIPPED:
            continue
        if metric in DASHBOARD_SEARCHED:
            if metric not in searched:
                problems.append(f"the dashboard has no SEARCH for {metric}")
            continue
        values = (
            [{}] if not dimensions else [{d: v} for d, vs in dimensions.items() for v in sorted(vs)]
        )
        for value in values:
            if (namespace, metric, tuple(sorted(value.items()))) not in graphed:
                problems.append(f"the dashboard does not graph {metric} {value or ''}".rstrip())
    for namespace, metric, dimensions in DASHBOARD_AWS_METRICS:
        if (namespace, metric, tuple(sorted(dimensions.items()))) not in graphed:
            problems.append(f"the dashboard does not graph {namespace} {metric} {dimensions}")
    return problems


def check_outputs(template):
    """The outputs the docs rely on; the pool's only with CreateUserPool; never a secret."""
    outputs = template.get("Outputs", {})
    problems = [
        f"output {key} is not {value}"
        for key, value in EXPECTED_OUTPUTS.items()
        if normal(outputs.get(key, {}).get("Value")) != normal(value)
    ]
    for key, value in EXPECTED_POOL_OUTPUTS.items():
        output = outputs.get(key, {})
        if normal(output.get("Value")) != normal(value):
            problems.append(f"output {key} is {output.get('Value')!r}, not {value!r}")
        if output.get("Condition") != "CreatesUserPool":
            problems.append(
                f"output {key}: not only with CreateUserPool (Condition CreatesUserPool)"
            )
    for key, output in outputs.items():
        if gives_secret(output.get("Value")):
            problems.append(f"output {key} gives the app client's secret: give where it is instead")
    return problems


def gives_secret(value):
    """Whether `value` holds an app client's secret (its ClientSecret attribute)."""
    if isinstance(value, list):
        return any(gives_secret(v) for v in value)
    if not isinstance(value, dict):
        return False
    for key, v in value.items():
        if key == "Fn::GetAtt" and name(value).endswith(".ClientSecret"):
            return True
        if key == "Fn::Sub":
            text = v[0] if isinstance(v, list) else v
            if isinstance(text, str) and re.search(r"\$\{\w+\.ClientSecret\}", text):
                return True
        if gives_secret(v):
            return True
    return False


def check_defaults(template):
    parameters = template.get("Parameters", {})
    return [
        f"parameter {key}: default {parameters.get(key, {}).get('Default')!r}, not {default!r}"
        for key, default in EXPECTED_DEFAULTS.items()
        if normal(parameters.get(key, {}).get("Default")) != normal(default)
    ]


def check_exclusive(allowed_by_function):
    """What matters most is allowed only to whom EXCLUSIVE names, however a role allows it."""
    problems = []
    for wanted, holders in EXCLUSIVE.items():
        for function, allowed in sorted(allowed_by_function.items()):
            if function in holders:
                continue
            for granted in sorted(g for g in allowed if covers(g, wanted)):
                who = f"only {', '.join(sorted(holders))} may" if holders else "no one may"
                problems.append(
                    f"{function} may {wanted[0]} on {wanted[1]} (through {granted[0]} on"
                    f" {granted[1]}): {who}"
                )
    return problems


def check_operations(template):
    """The operations page (docs/operations.md), on a translated template: a list of what does not hold."""
    resources = template["Resources"]
    return (
        check_functions(resources)
        + check_event_sources(resources)
        + check_schedules(resources)
        + check_queues(resources)
        + check_tables(resources)
        + check_alarms(template)
        + check_dashboard(template)
        + check_outputs(template)
        + check_defaults(template)
        + check_bounds(template)
        + check_event_region(template)
    )


def check_roles(resources, permissions):
    """Each function (or rule) of `permissions` runs as a role of its own, which allows exactly
    its (action, resource) pairs, and only its service may assume; no other role. Returns the
    problems, every pair allowed, and the pairs by function."""
    problems = []
    roles, every_allowed, allowed_by_function = {}, set(), {}
    for function, expected in permissions.items():
        if function not in resources:
            problems.append(f"{function}: no such resource")
            continue
        role = role_of(resources[function])
        if role in roles.values():
            problems.append(f"{function} shares its role {role}")
        roles[function] = role
        if resources.get(role, {}).get("Type") != "AWS::IAM::Role":
            problems.append(f"{function}: its role is {role}, not a role of this template")
            continue
        allowed, role_problems = role_permissions(resources[role])
        every_allowed |= allowed
        allowed_by_function[function] = allowed
        problems += [f"{function} ({role}): {p}" for p in role_problems]
        for action, resource in sorted(allowed - expected):
            problems.append(f"{function} may {action} on {resource}, which it does not need")
        for action, resource in sorted(expected - allowed):
            problems.append(f"{function} lacks {action} on {resource}, which it needs")
        trust = as_list(resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"])
        if normal(trust) != [normal(EXPECTED_TRUST[resources[function]["Type"]])]:
            problems.append(f"{function} ({role}): trust policy not as reviewed: {trust}")
    unreviewed = [
        key
        for key, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and key not in roles.values()
    ]
    if unreviewed:
        problems.append(f"roles not reviewed: {unreviewed}")
    return problems, every_allowed, allowed_by_function


def check_security(template):
    """The security review (docs/security.md), on a translated template: a list of what does not hold."""
    resources = template["Resources"]
    problems = (
        check_invokers(resources)
        + check_rules(resources)
        + check_environment(resources)
        + check_bridge_failures(resources)
    )
    skill_id = template.get("Parameters", {}).get("SkillId", {})
    if "Default" in skill_id or "AllowedPattern" not in skill_id:
        problems.append("SkillId must be required and a skill id (no Default, an AllowedPattern)")
    other_ways_in = [
        key
        for key, r in resources.items()
        if r["Type"].startswith("AWS::ApiGateway") or r["Type"] == "AWS::Lambda::Url"
    ]
    if other_ways_in:
        problems.append(f"other ways to invoke a function: {other_ways_in}")
    role_problems, every_allowed, allowed_by_function = check_roles(
        resources, EXPECTED_PERMISSIONS
    )
    problems += role_problems
    problems += check_exclusive(allowed_by_function)
    problems += check_indexes(resources, every_allowed)
    problems += check_parameters(template, every_allowed)
    problems += check_user_pool(template)
    problems += check_parameter_rules(template)
    return problems


def check_event_region(template):
    """ALEXA_EVENT_REGION is the stack's region's Alexa region, from the mapping by AWS::Region,
    in every function that has it (the skill must): a grant records the region of the stack
    that received the AcceptGrant, and its events go to that region's gateway. Not a
    parameter: a value that could differ from the stack's region would send a customer's events
    to a gateway that does not know them."""
    problems = []
    expected = {region: {"EventRegion": alexa} for region, alexa in ALEXA_REGIONS.items()}
    mapping = template.get("Mappings", {}).get("AlexaRegions")
    if mapping != expected:
        problems.append(
            f"Mappings AlexaRegions is {mapping!r}, not each Alexa region's own {expected!r}"
        )
    for key, r in of_type(template["Resources"], "AWS::Lambda::Function").items():
        variables = r["Properties"].get("Environment", {}).get("Variables", {})
        if "ALEXA_EVENT_REGION" not in variables:
            if key == "SkillFunction":
                problems.append("SkillFunction lacks ALEXA_EVENT_REGION: AcceptGrant records it")
            continue
        value = variables["ALEXA_EVENT_REGION"]
        if normal(value) != normal(EVENT_REGION):
            problems.append(
                f"{key}: ALEXA_EVENT_REGION is {value!r}, not the stack's region's"
                f" {EVENT_REGION!r}: a grant must record the region of the stack that received it"
            )
    return problems


def check_bounds(template):
    """The parameters that size the work keep their bounds (EXPECTED_BOUNDS)."""
    parameters = template.get("Parameters", {})
    problems = []
    for key, bounds in EXPECTED_BOUNDS.items():
        parameter = parameters.get(key, {})
        actual = tuple(number(parameter.get(b)) for b in ("MinValue", "MaxValue"))
        if parameter.get("Type") != "Number" or actual != bounds:
            problems.append(
                f"parameter {key}: {parameter.get('Type')} from {actual[0]} to {actual[1]},"
                f" not a Number from {bounds[0]} to {bounds[1]}"
            )
    return problems


def check_region_resources(resources):
    """A region stack holds EXPECTED_REGION_RESOURCES and nothing else, each problem said by
    what it would break."""
    problems = []
    for key, r in resources.items():
        type = r["Type"]
        if EXPECTED_REGION_RESOURCES.get(key) == type:
            continue
        props = r.get("Properties", {})
        if type == "AWS::Lambda::EventSourceMapping":
            problems.append(
                f"region stack: {key} feeds {name(props.get('FunctionName'))} from"
                f" {name(props.get('EventSourceArn'))}: a region stack consumes no stream or"
                " queue (the home stack sends every event, once)"
            )
        elif type == "AWS::DynamoDB::Table":
            problems.append(
                f"region stack: {key} is a table of its own: a region stack works on the home"
                " stack's tables"
            )
        elif type == "AWS::Lambda::Function":
            problems.append(f"region stack: {key} is a function beside the skill")
        elif type == "AWS::SQS::Queue":
            problems.append(f"region stack: {key} is a queue: a region stack has none")
        else:
            problems.append(
                f"region stack: {key} ({type}) is not the skill's: a region stack holds"
                f" {', '.join(EXPECTED_REGION_RESOURCES)} alone"
            )
    for key, type in EXPECTED_REGION_RESOURCES.items():
        if resources.get(key, {}).get("Type") != type:
            problems.append(f"region stack: no {type} {key}")
    return problems


def check_home_region(resources):
    """A region stack's skill is told where the home stack is: HOME_REGION (its DynamoDB and
    IoT clients use it) and the home stack's table names."""
    variables = (
        resources.get("SkillFunction", {}).get("Properties", {}).get("Environment", {})
    ).get("Variables", {})
    problems = []
    if normal(variables.get("HOME_REGION")) != {"Ref": "HomeRegion"}:
        problems.append(
            "SkillFunction lacks HOME_REGION (HomeRegion), it has"
            f" {variables.get('HOME_REGION')!r}: a region stack's tables and things are in the"
            " home region"
        )
    for variable, parameter in HOME_TABLE_VARIABLES.items():
        if normal(variables.get(variable)) != {"Ref": parameter}:
            problems.append(
                f"SkillFunction: {variable} is {variables.get(variable)!r}, not the home"
                f" stack's table ({parameter})"
            )
    return problems


def check_region_outputs(template):
    """A region stack outputs its skill's ARN, for the Alexa developer console, alone."""
    outputs = template.get("Outputs", {})
    problems = [
        f"region stack: output {key}: a region stack outputs {', '.join(EXPECTED_REGION_OUTPUTS)}"
        " alone"
        for key in sorted(outputs.keys() - EXPECTED_REGION_OUTPUTS.keys())
    ]
    for key, value in EXPECTED_REGION_OUTPUTS.items():
        if normal(outputs.get(key, {}).get("Value")) != normal(value):
            problems.append(f"region stack: output {key} is not {value}")
    return problems


def check_region(template):
    """A translated template as a region stack (for_role(…, "region")): the skill alone, on
    the home stack's tables and things in HomeRegion, with exactly the home skill's actions on
    exactly those; each problem once."""
    resources = template["Resources"]
    role_problems, every_allowed, _ = check_roles(resources, EXPECTED_REGION_PERMISSIONS)
    problems = (
        check_region_resources(resources)
        + role_problems
        + check_parameters(template, every_allowed)
        + check_invokers(resources, {"SkillFunction": EXPECTED_INVOKERS["SkillFunction"]})
        + check_functions(resources, reviewed=EXPECTED_REGION_FUNCTIONS)
        + check_environment(resources)
        + check_home_region(resources)
        + check_event_region(template)
        + check_alarms(template, EXPECTED_REGION_ALARMS)
        + check_region_outputs(template)
        + check_parameter_rules(template)
    )
    return list(dict.fromkeys(f"(region) {p}" for p in problems))


def check(template):
    """Every problem of a translated template, each once."""
    return list(dict.fromkeys(check_security(template) + check_operations(template)))


def self_test(template):
    """The checks must catch what they are for: the breakages below of a translated template
    that they no longer catch in a stack of its role, each by the problem it is for (a problem
    that names what the breakage names)."""

    def broader(resources, function, action, resource):
        role = resources[role_of(resources[function])]
        statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        statements.append({"Effect": "Allow", "Action": action, "Resource": resource})

    def opened(resources, prop="EventSourceToken"):
        for resource in resources.values():
            if resource["Type"] == "AWS::Lambda::Permission":
                resource["Properties"].pop(prop, None)

    def widened(resources):
        payload = resources["ShadowDocumentsRule"]["Properties"]["TopicRulePayload"]
        payload["Sql"] = "SELECT * FROM '#'"

    def props(key):
        return lambda resources: resources[key]["Properties"]

    def setting(key, prop, value):
        def breaking(resources):
            if value is None:
                props(key)(resources).pop(prop, None)
            else:
                props(key)(resources)[prop] = value

        return breaking

    def environment(function, variable, value=None):
        def breaking(resources):
            variables = props(function)(resources)["Environment"]["Variables"]
            if value is None:
                variables.pop(variable)
            else:
                variables[variable] = value

        return breaking

    def dashboard(old, new):
        def breaking(resources):
            body = props("Dashboard")(resources)["DashboardBody"]
            body["Fn::Sub"] = re.sub(old, new, body["Fn::Sub"], count=1)

        return breaking

    def grants_stream(resources):
        props("GrantsTable")(resources)["StreamSpecification"]["StreamViewType"] = "NEW_IMAGE"

    def scheduled_input(resources):
        props("ReconcileFunctionSchedule")(resources)["Targets"][0]["Input"] = "{}"

    def alarm_dimension(resources):
        props("LwaRefreshFailureAlarm")(resources)["Dimensions"][0]["Value"] = "failure"

    def binary(resources):
        resources["ReconcileFunction"]["Metadata"]["BuildProperties"]["Binary"] = "stream"

    def table(key):
        return {"Fn::GetAtt": [key, "Arn"]}

    def client(prop, value):
        return setting("UserPoolClient", prop, value)

    def redirect_urls(change):
        def breaking(resources):
            change(props("UserPoolClient")(resources)["CallbackURLs"])

        return breaking

    def provider_alarm(change):
        def breaking(resources):
            change(props("IdentityProviderUnavailableAlarm")(resources)["Metrics"])

        return breaking

    def mode_table(metrics):
        metrics[0]["MetricStat"]["Metric"]["Dimensions"][0]["Value"] = "table"

    def whole(change):
        """A breakage of the template beyond its resources (Rules, Outputs, Parameters)."""
        change.whole = True
        return change

    def secret_output(template):
        template["Outputs"]["AccountLinkingClientSecret"] = {
            "Condition": "CreatesUserPool",
            "Value": {"Fn::GetAtt": ["UserPoolClient", "ClientSecret"]},
        }

    def http_userinfo(template):
        template["Parameters"]["UserinfoUrl"]["AllowedPattern"] = "\\S*"

    def free_event_region(template):
        template["Parameters"]["AlexaEventRegion"] = {
            "Type": "String",
            "AllowedValues": sorted(ALEXA_REGIONS.values()),
        }
        variables = template["Resources"]["SkillFunction"]["Properties"]["Environment"]
        variables["Variables"]["ALEXA_EVENT_REGION"] = {"Ref": "AlexaEventRegion"}

    def mapped(region, alexa):
        def breaking(template):
            template["Mappings"]["AlexaRegions"][region]["EventRegion"] = alexa

        return breaking

    def in_own_region(service):
        """The region skill's statements on `service` in the stack's region, not HomeRegion."""

        def breaking(resources):
            role = resources["SkillFunctionRole"]
            for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
                text = json.dumps(statement)
                if f":{service}:" in text:
                    statement.clear()
                    statement.update(json.loads(text.replace("${HomeRegion}", "${AWS::Region}")))

        return breaking

    def pool_in_every_stack(template):
        template["Conditions"]["CreatesUserPool"] = CREATES_USER_POOL

    # What breaks the template → a fragment of the problem that must catch it.
    breakages = {
        "a broader role": (
            lambda r: broader(r, "StreamFunction", "dynamodb:PutItem", table("TokensTable")),
            "StreamFunction may dynamodb:PutItem on TokensTable.Arn",
        ),
        "an open invoke permission": (opened, "AlexaSmartHomeInvokePermission: EventSourceToken"),
        "the shadows of every account's things": (
            lambda r: broader(r, "SkillFunction", "iot:UpdateThingShadow", "*"),
            "SkillFunction may iot:UpdateThingShadow on *",
        ),
        "an invoke permission for every rule": (
            lambda r: opened(r, "SourceArn"),
            "ShadowBridgePermission: SourceArn",
        ),
        "a rule selecting every topic": (widened, "ShadowDocumentsRule: selects"),
        "a reconcile role with dynamodb:*": (
            lambda r: broader(r, "ReconcileFunction", "dynamodb:*", table("GrantsTable")),
            "ReconcileFunction may dynamodb:* on GrantsTable.Arn",
        ),
        "another role scanning every grant": (
            lambda r: broader(r, "StreamFunction", "dynamodb:Scan", table("GrantsTable")),
            "StreamFunction may dynamodb:Scan on GrantsTable.Arn (through",
        ),
        "the skill reading every stream through wildcards": (
            lambda r: broader(r, "SkillFunction", "dynamodb:Get*", "*"),
            "SkillFunction may dynamodb:GetRecords on DevicesTable.StreamArn (through",
        ),
        "the bridge writing the Alexa view": (
            lambda r: broader(
                r, "ShadowBridgeFunction", "dynamodb:BatchWriteItem", table("AlexaViewTable")
            ),
            "ShadowBridgeFunction may dynamodb:BatchWriteItem on AlexaViewTable.Arn (through",
        ),
        "a grants stream of NEW_IMAGE": (grants_stream, "GrantsTable: stream view type"),
        "a missing alarm action": (
            setting("DeadLetterExpiredAlarm", "AlarmActions", None),
            "DeadLetterExpiredAlarm: AlarmActions",
        ),
        "an alarm notifying another topic on recovery": (
            setting("SkillErrorsAlarm", "OKActions", ["arn:aws:sns:us-east-1:123456789012:t"]),
            "SkillErrorsAlarm: OKActions",
        ),
        "an alarm on a dimension value never written": (
            alarm_dimension,
            "LwaRefreshFailureAlarm: LwaRefreshes has no Outcome 'failure'",
        ),
        "an alarm missing": (
            lambda r: r.pop("StreamBatchFailuresAlarm"),
            "no alarm StreamBatchFailuresAlarm",
        ),
        "a DLQ visibility timeout too short": (
            setting("DeviceChangesDeadLetterQueue", "VisibilityTimeout", 900),
            "DeviceChangesDeadLetterQueue: VisibilityTimeout 900 s, under 6",
        ),
        "a reconcile function without METRICS_NAMESPACE": (
            environment("ReconcileFunction", "METRICS_NAMESPACE"),
            "ReconcileFunction lacks METRICS_NAMESPACE",
        ),
        "a function writing metrics where no alarm looks": (
            environment("StreamFunction", "METRICS_NAMESPACE", "AlexaSmartHome"),
            "StreamFunction: METRICS_NAMESPACE is",
        ),
        "the view table's name missing from the reconcile function": (
            environment("ReconcileFunction", "ALEXA_VIEW_TABLE"),
            "ReconcileFunction's environment: ALEXA_VIEW_TABLE",
        ),
        "the reconcile function built from another binary": (
            binary,
            "ReconcileFunction: binary 'stream'",
        ),
        "grant records retried whole": (
            setting("ReconcileFunctionGrantChanges", "FunctionResponseTypes", None),
            "ReconcileFunctionGrantChanges: FunctionResponseTypes",
        ),
        "a schedule passing its own event": (
            scheduled_input,
            "ReconcileFunctionSchedule: its target sets ['Input']",
        ),
        "a dashboard without an alarm": (
            dashboard(r'\s*"\$\{SkillThrottlesAlarm\.Arn\}",', ""),
            "the dashboard's alarm widgets lack ['${SkillThrottlesAlarm.Arn}']",
        ),
        "a dashboard without a metric": (
            dashboard(r'"GatewayResends"', '"GatewayResend"'),
            "the dashboard does not graph GatewayResends",
        ),
        "a refresh token that expires within a year": (
            client("RefreshTokenValidity", 365),
            "UserPoolClient: refresh tokens live 365 days, under 3650",
        ),
        "a refresh token counted in hours": (
            client("TokenValidityUnits", {"AccessToken": "hours", "RefreshToken": "hours"}),
            "UserPoolClient: refresh tokens live 152.083 days",
        ),
        "a rotated refresh token": (
            client("RefreshTokenRotation", {"Feature": "ENABLED", "RetryGracePeriodSeconds": 10}),
            "UserPoolClient: refresh tokens rotated",
        ),
        "a missing redirect URL": (
            redirect_urls(lambda urls: urls.pop()),
            "UserPoolClient: CallbackURLs lack ['https://alexa.amazon.co.jp/api/skill/link/",
        ),
        "a redirect URL not Alexa's": (
            redirect_urls(lambda urls: urls.append("https://example.com/callback")),
            "UserPoolClient: CallbackURLs allow ['https://example.com/callback']",
        ),
        "the implicit grant": (
            client("AllowedOAuthFlows", ["code", "implicit"]),
            "UserPoolClient: AllowedOAuthFlows are ['code', 'implicit']",
        ),
        "a client without a secret": (
            client("GenerateSecret", False),
            "UserPoolClient: no secret",
        ),
        "a client without the skill's scope": (
            client("AllowedOAuthScopes", ["openid"]),
            "UserPoolClient: AllowedOAuthScopes lack alexa-smart-home/devices",
        ),
        "a user pool in every stack": (
            lambda r: r["UserPool"].pop("Condition"),
            "UserPool: not created only with CreateUserPool",
        ),
        "a user pool deleted with the stack": (
            lambda r: r["UserPool"].pop("DeletionPolicy"),
            "UserPool: not retained",
        ),
        "the skill trusting the parameters' issuer with the pool": (
            environment("SkillFunction", "TOKEN_ISSUER", {"Ref": "TokenIssuer"}),
            "SkillFunction's environment: TOKEN_ISSUER",
        ),
        "the skill not requiring the pool's scope": (
            environment("SkillFunction", "TOKEN_REQUIRED_SCOPES", {"Ref": "TokenRequiredScopes"}),
            "SkillFunction's environment: TOKEN_REQUIRED_SCOPES",
        ),
        "a linking setting in another function": (
            environment("StreamFunction", "TOKEN_ISSUER", {"Ref": "TokenIssuer"}),
            "StreamFunction has TOKEN_ISSUER, which only the skill needs",
        ),
        "a linking parameter under another name": (
            environment("ReconcileFunction", "ISSUER", {"Fn::Sub": "${TokenIssuer}"}),
            "ReconcileFunction: ISSUER refers to TokenIssuer",
        ),
        "the identity provider alarm missing": (
            lambda r: r.pop("IdentityProviderUnavailableAlarm"),
            "no alarm IdentityProviderUnavailableAlarm",
        ),
        "the identity provider alarm missing a reason": (
            provider_alarm(lambda metrics: metrics.pop(0)),
            "IdentityProviderUnavailableAlarm: does not count Reason ['timeout']",
        ),
        "the identity provider alarm on a mode never written": (
            provider_alarm(mode_table),
            "IdentityProviderUnavailableAlarm: IdentityProviderUnavailable has no Mode 'table'",
        ),
        "a dashboard without the identity provider alarm": (
            dashboard(r',\s*"\$\{IdentityProviderUnavailableAlarm\.Arn\}"', ""),
            "the dashboard's alarm widgets lack ['${IdentityProviderUnavailableAlarm.Arn}']",
        ),
        "a dashboard without failed key set fetches": (
            dashboard(r'"KeySetFetches", "Outcome", "failed"', '"KeySetFetches", "Outcome", "x"'),
            "the dashboard does not graph KeySetFetches {'Outcome': 'failed'}",
        ),
        "the client's secret as an output": (
            whole(secret_output),
            "output AccountLinkingClientSecret gives the app client's secret",
        ),
        "a pool output in every stack": (
            whole(lambda t: t["Outputs"]["AccountLinkingClientId"].pop("Condition")),
            "output AccountLinkingClientId: not only with CreateUserPool",
        ),
        "jwt deployable without an issuer": (
            whole(lambda t: t["Rules"].pop("JwtNeedsIssuerAndAudience")),
            "no rule JwtNeedsIssuerAndAudience",
        ),
        "a userinfo URL over http": (
            whole(http_userinfo),
            "UserinfoUrl may be an http:// URL",
        ),
    }
    # Issue #26: the reconciliation's segments, the stream's parallelization, the event region.
    breakages.update(
        {
            "the reconcile function reading a view item alone": (
                lambda r: broader(
                    r, "ReconcileFunction", "dynamodb:GetItem", table("AlexaViewTable")
                ),
                "ReconcileFunction may dynamodb:GetItem on AlexaViewTable.Arn (through",
            ),
            "the reconcile function deleting view items one by one": (
                lambda r: broader(
                    r, "ReconcileFunction", "dynamodb:DeleteItem", table("AlexaViewTable")
                ),
                "ReconcileFunction may dynamodb:DeleteItem on AlexaViewTable.Arn",
            ),
            "a reconcile worker cut at 300 s": (
                setting("ReconcileFunction", "Timeout", 300),
                "ReconcileFunction: timeout 300, not 900",
            ),
            "the reconcile function without its segments": (
                environment("ReconcileFunction", "RECONCILE_SEGMENTS"),
                "ReconcileFunction's environment: RECONCILE_SEGMENTS",
            ),
            "segments without a bound": (
                whole(lambda t: t["Parameters"]["ReconcileSegments"].pop("MaxValue")),
                "parameter ReconcileSegments: Number from 1.0 to None",
            ),
            "a stream mapping's parallelization fixed": (
                setting("StreamFunctionDeviceChanges", "ParallelizationFactor", 10),
                "StreamFunctionDeviceChanges: ParallelizationFactor is 10.0",
            ),
            "ALEXA_EVENT_REGION as a free value": (
                whole(free_event_region),
                "SkillFunction: ALEXA_EVENT_REGION is {'Ref': 'AlexaEventRegion'}, not the stack's",
            ),
            "an Alexa region mapped to another's gateway": (
                whole(mapped("eu-west-1", "NA")),
                "Mappings AlexaRegions is",
            ),
            "a stack deployable in any AWS region": (
                whole(lambda t: t["Rules"].pop("AlexaRegionsOnly")),
                "no rule AlexaRegionsOnly",
            ),
            "HOME_REGION in a home stack": (
                environment("SkillFunction", "HOME_REGION", {"Ref": "HomeRegion"}),
                "SkillFunction's environment: HOME_REGION",
            ),
        }
    )
    # A region stack (Role=region), as for_role makes it of the broken translated template.
    region_breakages = {
        "a region stack consuming the devices stream": (
            lambda r: r["StreamFunctionDeviceChanges"].pop("Condition"),
            "region stack: StreamFunctionDeviceChanges feeds StreamFunction from"
            " DevicesTable.StreamArn",
        ),
        "a region stack with a table of its own": (
            lambda r: r["GrantsTable"].pop("Condition"),
            "region stack: GrantsTable is a table of its own",
        ),
        "a region stack with the reconcile function": (
            lambda r: r["ReconcileFunction"].pop("Condition"),
            "region stack: ReconcileFunction is a function beside the skill",
        ),
        "a region stack with a dead-letter queue": (
            lambda r: r["DeviceChangesDeadLetterQueue"].pop("Condition"),
            "region stack: DeviceChangesDeadLetterQueue is a queue",
        ),
        "a region stack without the skill's throttles alarm": (
            lambda r: r["SkillThrottlesAlarm"].update(Condition="IsHome"),
            "no alarm SkillThrottlesAlarm",
        ),
        "a region skill allowed on *": (
            lambda r: broader(r, "SkillFunction", "dynamodb:GetItem", "*"),
            "SkillFunction may dynamodb:GetItem on *, which it does not need",
        ),
        "a region skill allowed on every home table": (
            lambda r: broader(
                r,
                "SkillFunction",
                "dynamodb:GetItem",
                {"Fn::Sub": home_table_arn("DevicesTable").replace("${HomeDevicesTable}", "*")},
            ),
            "SkillFunction may dynamodb:GetItem on arn:${AWS::Partition}:dynamodb:${HomeRegion}"
            ":${AWS::AccountId}:table/*",
        ),
        "a region skill on tables of its own region": (
            in_own_region("dynamodb"),
            "SkillFunction may dynamodb:Query on arn:${AWS::Partition}:dynamodb:${AWS::Region}:",
        ),
        "a region skill on things of its own region": (
            in_own_region("iot"),
            "SkillFunction may iot:UpdateThingShadow on arn:${AWS::Partition}:iot:${AWS::Region}:",
        ),
        "a home table's name that may hold a wildcard": (
            whole(lambda t: t["Parameters"]["HomeGrantsTable"].update(AllowedPattern=".*")),
            "HomeGrantsTable is in",
        ),
        "a region skill without HOME_REGION": (
            environment("SkillFunction", "HOME_REGION"),
            "SkillFunction lacks HOME_REGION",
        ),
        "a region skill on a table of its own name": (
            environment("SkillFunction", "GRANTS_TABLE", {"Ref": "GrantsTable"}),
            "SkillFunction: GRANTS_TABLE is {'Ref': 'GrantsTable'}, not the home stack's table",
        ),
        "ALEXA_EVENT_REGION as a free value in a region stack": (
            whole(free_event_region),
            "SkillFunction: ALEXA_EVENT_REGION is {'Ref': 'AlexaEventRegion'}, not the stack's",
        ),
        "a user pool of a region stack's own": (
            whole(pool_in_every_stack),
            "region stack: UserPool (AWS::Cognito::UserPool) is not the skill's",
        ),
        "a region output beyond the skill's ARN": (
            whole(lambda t: t["Outputs"]["GrantsTableName"].pop("Condition")),
            "region stack: output GrantsTableName",
        ),
        "a region stack deployable without the home tables": (
            whole(lambda t: t["Rules"]["RegionNeedsTheHomeStack"]["Assertions"].pop(3)),
            "rule RegionNeedsTheHomeStack: does not assert",
        ),
        "a region stack deployable in the home region": (
            whole(lambda t: t["Rules"]["RegionNeedsTheHomeStack"]["Assertions"].pop(1)),
            "rule RegionNeedsTheHomeStack: does not assert {'Fn::Not': [{'Fn::Equals':"
            " [{'Ref': 'HomeRegion'}, {'Ref': 'AWS::Region'}]}]}",
        ),
    }
    missed = []
    for role, cases, checking in (
        ("home", breakages, check),
        ("region", region_breakages, check_region),
    ):
        for what, (breaking, expected) in cases.items():
            broken = copy.deepcopy(template)
            breaking(broken if getattr(breaking, "whole", False) else broken["Resources"])
            if not any(expected in problem for problem in checking(for_role(broken, role))):
                missed.append(f"{what} ({role})")
    return missed


# `make deploy-regions` (scripts/deploy-regions.sh), run with --dry-run on parameter files made
# here from the template: the commands it prints must build once, deploy the home stack first
# and then a region stack in each other region in order, each with its parameters (the home
# stack's outputs for Role=region, the ones a region stack's resources use carried over, an SNS
# topic only where given for that region), and print no secret.
DEPLOY_SCRIPT = os.path.join("scripts", "deploy-regions.sh")
MASK = "****"
# The stack parameters the script takes from the home stack, never from the file.
FROM_HOME = {"Role", "HomeRegion", *HOME_TABLES.values()}
HOME_OUTPUT_PARAMETERS = {
    "HomeDevicesTable": "DevicesTableName",
    "HomeTokensTable": "TokensTableName",
    "HomeGrantsTable": "GrantsTableName",
    "HomeAlexaViewTable": "AlexaViewTableName",
}
# Where the Alexa developer console takes each region's endpoint.
CONSOLE_FIELDS = {
    "us-east-1": "North America",
    "eu-west-1": "Europe and India",
    "us-west-2": "Far East",
}


def dry_run_output_value(stack, output):
    """The placeholder the dry run gives for a home stack's output."""
    return f"DRYRUN-{stack}-{output}"


def deploy_cases(template, region):
    """Parameter files for the dry run, each with what its commands must be: (file lines,
    stack name, [(AWS region, {parameter: value}) in deployment order], secret values)."""
    parameters = template["Parameters"]
    secrets = {key for key, p in parameters.items() if p.get("NoEcho")}
    shown = lambda key, value: MASK if key in secrets else value  # noqa: E731
    # What a region stack's resources use, beside what comes from the home stack; a topic is
    # its region's own (never carried over).
    shared = (references(list(region["Resources"].values())) & parameters.keys()) - FROM_HOME
    shared.discard("AlarmTopicArn")

    # Every parameter given (one value with a space), an SNS topic for one region stack and a
    # log level for the other.
    given = {
        key: f"SECRET-{key}" if key in secrets else f"value-of-{key}"
        for key in parameters
        if key not in FROM_HOME
    }
    given.update(CreateUserPool="false", TokenRequiredScopes="scope-a scope-b")
    lines = [f"{key}={value}" for key, value in given.items()]
    lines += ["AlarmTopicArn@eu-west-1=topic-eu", "LogLevel@us-west-2=DEBUG"]
    stack = "alexa-smart-home"
    from_home = {"Role": "region", "HomeRegion": "us-east-1"} | {
        p: dry_run_output_value(stack, o) for p, o in HOME_OUTPUT_PARAMETERS.items()
    }
    carried = {key: shown(key, value) for key, value in given.items() if key in shared}
    everything = [
        (
            lines,
            stack,
            [
                ("us-east-1", {k: shown(k, v) for k, v in given.items()} | {"Role": "home"}),
                ("eu-west-1", carried | {"AlarmTopicArn": "topic-eu"} | from_home),
                ("us-west-2", carried | {"LogLevel": "DEBUG"} | from_home),
            ],
            [value for key, value in given.items() if key in secrets],
        )
    ]
    # The home stack's user pool, another home region, another order: the region stacks verify
    # the pool's tokens.
    pool_given = {
        "SkillId": "value-of-SkillId",
        "LwaClientId": "value-of-LwaClientId",
        "LwaClientSecret": "SECRET-LwaClientSecret",
        "CreateUserPool": "true",
        "AlexaVendorId": "VENDOR",
        "AccountLinking": "table",
    }
    lines = ["STACK_NAME=acme", "HOME_REGION=eu-west-1", "REGIONS=us-west-2 us-east-1"]
    lines += [f"{key}={value}" for key, value in pool_given.items()]
    stack = "acme"
    from_home = {"Role": "region", "HomeRegion": "eu-west-1"} | {
        p: dry_run_output_value(stack, o) for p, o in HOME_OUTPUT_PARAMETERS.items()
    }
    pool = {
        "AccountLinking": "jwt",
        "TokenIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/"
        + dry_run_output_value(stack, "UserPoolId"),
        "TokenAudience": dry_run_output_value(stack, "AccountLinkingClientId"),
        "TokenRequiredScopes": "alexa-smart-home/devices",
        "JwksUrl": "",
    }
    carried = {key: shown(key, value) for key, value in pool_given.items() if key in shared}
    everything.append(
        (
            lines,
            stack,
            [
                ("eu-west-1", {k: shown(k, v) for k, v in pool_given.items()} | {"Role": "home"}),
                ("us-west-2", carried | from_home | pool),
                ("us-east-1", carried | from_home | pool),
            ],
            ["SECRET-LwaClientSecret"],
        )
    )
    return everything


def sam_value(value):
    """A --parameter-overrides value as `sam deploy` reads it (wrapping quotes taken off)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def check_deploy_output(output, stack, stacks, secrets):
    """The dry run's `output` against the stacks expected (see deploy_cases)."""
    problems = []
    commands = []
    for line in output.splitlines():
        if line.startswith("+ "):
            try:
                commands.append(shlex.split(line[2:]))
            except ValueError as e:
                problems.append(f"deploy-regions: cannot read the command {line!r}: {e}")
    builds = [i for i, c in enumerate(commands) if c[:2] == ["sam", "build"]]
    deploys = [(i, c) for i, c in enumerate(commands) if c[:2] == ["sam", "deploy"]]
    if len(builds) != 1 or (deploys and builds[0] > deploys[0][0]):
        problems.append(
            f"deploy-regions: sam build runs {len(builds)} times, not once before the first deploy"
        )
    deployed = []
    for _, command in deploys:

        def option(flag, command=command):
            return command[command.index(flag) + 1] if flag in command[:-1] else None

        region = option("--region")
        deployed.append(region)
        if option("--stack-name") != stack:
            problems.append(
                f"deploy-regions: the stack in {region} is {option('--stack-name')}, not {stack}"
            )
        if option("--capabilities") != "CAPABILITY_IAM":
            problems.append(f"deploy-regions: the stack in {region} without CAPABILITY_IAM")
        flag = "--parameter-overrides"
        given = command[command.index(flag) + 1 :] if flag in command else []
        actual = {arg.split("=", 1)[0]: sam_value(arg.partition("=")[2]) for arg in given}
        expected = dict(stacks).get(region)
        if expected is None:
            continue
        role = expected.get("Role")
        for key in sorted(expected.keys() - actual.keys()):
            problems.append(f"deploy-regions: the {role} stack in {region} lacks {key}")
        for key in sorted(actual.keys() - expected.keys()):
            problems.append(
                f"deploy-regions: the {role} stack in {region} gets {key}, which it should not"
            )
        for key in sorted(actual.keys() & expected.keys()):
            if actual[key] != expected[key]:
                problems.append(
                    f"deploy-regions: the {role} stack in {region} gets {key}={actual[key]!r},"
                    f" not {expected[key]!r}"
                )
    order = [region for region, _ in stacks]
    if deployed != order:
        problems.append(
            f"deploy-regions: stacks deployed in {deployed}, not {order} (the home stack first)"
        )
    for secret in secrets:
        if secret in output:
            problems.append(f"deploy-regions: the dry run prints the secret value {secret}")
    home = order[0]
    fields = {"Default endpoint": home} | {CONSOLE_FIELDS[r]: r for r in order}
    for field, region in fields.items():
        if not re.search(rf"^\s*{field}:\s+arn:aws:lambda:{region}:\S+$", output, re.M):
            problems.append(
                f"deploy-regions: does not print the {region} stack's skill ARN as the Alexa"
                f" console's {field}"
            )
    return problems


def swapped(text, a, b):
    """`text` with the lines `a` and `b` in each other's place."""
    lines = text.splitlines()
    i, j = lines.index(a), lines.index(b)
    lines[i], lines[j] = b, a
    return "\n".join(lines)


def run_deploy_script(root, lines):
    """The dry run's output (stdout and stderr) on a parameter file of `lines`, or None and why."""
    env = {k: v for k, v in os.environ.items() if k not in ("STACK_NAME", "HOME_REGION", "REGIONS")}
    with tempfile.NamedTemporaryFile("w", suffix=".env") as parameters:
        parameters.write("\n".join(lines) + "\n")
        parameters.flush()
        result = subprocess.run(
            ["bash", DEPLOY_SCRIPT, "--dry-run", parameters.name],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    if result.returncode != 0:
        return None, f"exit {result.returncode}: {result.stdout.strip()[-500:]}"
    return result.stdout, None


def check_deploy_script(root, template, region):
    """`scripts/deploy-regions.sh --dry-run` on each case of deploy_cases, and a self-test of
    check_deploy_output on breakages of the first case's output."""
    problems, first = [], None
    for lines, stack, stacks, secrets in deploy_cases(template, region):
        output, failure = run_deploy_script(root, lines)
        if failure:
            problems.append(f"deploy-regions --dry-run failed ({failure})")
            continue
        problems += check_deploy_output(output, stack, stacks, secrets)
        first = first or (output, stack, stacks, secrets)
    if first is None:
        return problems
    output, stack, stacks, secrets = first
    deploy_lines = [line for line in output.splitlines() if line.startswith("+ sam deploy")]
    home_line, region_line = deploy_lines[0], deploy_lines[1]
    breakages = {
        "a region stack without the home tables": (
            output.replace(region_line, re.sub(r" HomeDevicesTable=\S+", "", region_line)),
            "the region stack in eu-west-1 lacks HomeDevicesTable",
        ),
        "a region stack deployed as a home stack": (
            output.replace(region_line, region_line.replace("Role=region", "Role=home")),
            "the region stack in eu-west-1 gets Role='home', not 'region'",
        ),
        "a home parameter carried to a region stack": (
            output.replace(region_line, region_line + " ReconcileSegments=4"),
            "the region stack in eu-west-1 gets ReconcileSegments, which it should not",
        ),
        "a region stack deployed before the home stack": (
            swapped(output, home_line, region_line),
            "stacks deployed in ['eu-west-1', 'us-east-1', 'us-west-2']",
        ),
        "a secret in the dry run": (
            output.replace(f"LwaClientSecret={MASK}", "LwaClientSecret=SECRET-LwaClientSecret", 1),
            "prints the secret value SECRET-LwaClientSecret",
        ),
        "no Europe endpoint to paste": (
            re.sub(r"^\s*Europe and India:.*$", "", output, flags=re.M),
            "the eu-west-1 stack's skill ARN as the Alexa console's Europe and India",
        ),
    }
    missed = [
        what
        for what, (broken, expected) in breakages.items()
        if not any(expected in p for p in check_deploy_output(broken, stack, stacks, secrets))
    ]
    if missed:
        problems.append(f"the deploy-regions checks no longer catch {', '.join(missed)}")
    return problems


class NoManagedPolicies:
    """The translator asks IAM for AWS managed policies; offline there are none to resolve."""

    def load(self):
        return {}


def main(path="template.yaml"):
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    root = os.path.dirname(os.path.abspath(path))
    with open(path) as f:
        template = yaml_parse(f.read())
    # `sam build` replaces local CodeUris with uploaded artifacts; so does this, with a placeholder.
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            props = resource.setdefault("Properties", {})
            if not str(props.get("CodeUri", "")).startswith("s3://"):
                props["CodeUri"] = PLACEHOLDER_CODE
    # One translation serves both roles: SAM passes conditions through, which for_role decides.
    translated = transform(template, {}, NoManagedPolicies())
    home, region = for_role(translated, "home"), for_role(translated, "region")
    with open(os.path.join(root, "Cargo.toml"), "rb") as f:
        binaries = {b["name"] for b in tomllib.load(f).get("bin", [])}
    problems = check(home) + check_functions(home["Resources"], binaries) + check_region(region)
    problems += check_deploy_script(root, translated, region)
    problems = list(dict.fromkeys(problems))
    missed = self_test(translated)
    if missed:
        problems.append(f"the checks no longer catch {', '.join(missed)}")
    for problem in problems:
        print(f"review {path}: {problem}")
    verdict = (
        "invocation, IAM, triggers, account linking, metrics and alarms as reviewed, for a home"
        " and a region stack; deploy-regions' commands as reviewed"
    )
    print(f"review {path}: {'FAILED' if problems else verdict}")
    failed = bool(problems)
    # cfn-lint: the template, and what each role deploys (translated, its role worked out).
    cfn_lint = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    targets = [(path, [], "")]
    outs = []
    for role, stack in (("home", home), ("region", region)):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
            json.dump(for_cfn_lint(stack), out, indent=1)
        outs.append(out.name)
        targets.append((out.name, [], f"(translated, Role={role}) "))
    for target, options, label in targets:
        result = subprocess.run([cfn_lint, *options, "--", target])
        print(f"cfn-lint {label}{path}: exit {result.returncode}")
        failed |= result.returncode != 0
    for name_ in outs:
        os.unlink(name_)
    return 1 if failed else 0


def for_cfn_lint(stack):
    """A stack of one role (for_role) as a template of its own: without the parameters and
    conditions nothing refers to any more (cfn-lint warns of those)."""
    stack = copy.deepcopy(stack)
    while True:
        used_conditions = conditions_used(
            [stack.get("Resources"), stack.get("Outputs"), stack.get("Conditions")]
        )
        unused = set(stack.get("Conditions", {})) - used_conditions
        if not unused:
            break
        for key in unused:
            del stack["Conditions"][key]
    parameters = stack.get("Parameters", {})
    used = references(
        [stack.get(k) for k in ("Resources", "Outputs", "Conditions", "Rules", "Mappings")]
    )
    stack["Parameters"] = {k: v for k, v in parameters.items() if k in used}
    return stack


def conditions_used(value):
    """Every condition `value` names (a Condition key, a Condition function, an Fn::If)."""
    if isinstance(value, list):
        return {c for v in value for c in conditions_used(v)}
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, v in value.items():
        if key == "Condition" and isinstance(v, str):
            found.add(v)
        elif key == "Fn::If" and isinstance(v, list) and v and isinstance(v[0], str):
            found.add(v[0])
            found |= conditions_used(v[1:])
        else:
            found |= conditions_used(v)
    return found


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
