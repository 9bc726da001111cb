"""Lints template.yaml offline.

cfn-lint alone does not look inside SAM resources (a misspelt event property or a policy that
references a missing resource passes), so the template is also translated to plain
CloudFormation with aws-sam-translator, the library `sam deploy` uses, and that is linted too.

The translated template (what would really be deployed) is then checked against the README's
security review: only the configured skill may invoke the skill function, and only this stack's
IoT rule the shadow bridge; the rule hands the bridge nothing but shadow documents; each role
allows exactly what its code (or the rule's error action) uses, and only its service may assume
it; the maker's API settings reach the skill alone.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE = "s3://placeholder-bucket/placeholder.zip"

# A `${…}` in a resource stays as written: the scoping is checked on the template's own words.
THING_SHADOWS = (
    "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:thing/${ThingNamePrefix}*"
)
THING_NAME_INDEX = "${DevicesTable.Arn}/index/thingName"

# Every (action, resource) the role of each function (or rule) allows: the calls of its code
# (src/store/dynamo.rs: token GetItem; devices Query; device GetItem; update_state UpdateItem;
# replace_pending UpdateItem; device_for_thing Query on the thingName index; grant GetItem;
# put_grant UpdateItem; replace_grant PutItem; delete_grant DeleteItem; src/cloud/iot.rs:
# UpdateThingShadow) and its own log group. The stream function reads and writes device items
# only to settle pending commands; the bridge touches nothing but device items.
EXPECTED_PERMISSIONS = {
    "SkillFunction": {
        ("dynamodb:GetItem", "TokensTable.Arn"),
        ("dynamodb:Query", "DevicesTable.Arn"),
        ("dynamodb:GetItem", "DevicesTable.Arn"),
        ("dynamodb:UpdateItem", "DevicesTable.Arn"),
        # AcceptGrant (UpdateItem); a ghost's DeleteReport refreshing or deleting the grant.
        ("dynamodb:GetItem", "GrantsTable.Arn"),
        ("dynamodb:UpdateItem", "GrantsTable.Arn"),
        ("dynamodb:PutItem", "GrantsTable.Arn"),
        ("dynamodb:DeleteItem", "GrantsTable.Arn"),
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
        ("dynamodb:PutItem", "GrantsTable.Arn"),
        ("dynamodb:DeleteItem", "GrantsTable.Arn"),
        # Settling a device's pending commands.
        ("dynamodb:GetItem", "DevicesTable.Arn"),
        ("dynamodb:UpdateItem", "DevicesTable.Arn"),
        ("sqs:SendMessage", "DeviceChangesDeadLetterQueue.Arn"),
        ("logs:CreateLogStream", "StreamFunctionLogGroup.Arn"),
        ("logs:PutLogEvents", "StreamFunctionLogGroup.Arn"),
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
# function is polled by its event source mapping, through its role): all its properties but
# Action and FunctionName. The bridge takes what it is given as a device's reported state, so
# only this stack's rule may invoke it, and only from this account.
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
}

# Each IoT rule: what it selects and whom it invokes. Only the shadow service publishes on
# .../update/documents (devices may not), so the bridge only ever sees the shadows' own documents.
EXPECTED_RULES = {
    "ShadowDocumentsRule": {
        "Sql": "SELECT *, topic() AS topic FROM '$aws/things/+/shadow/#'"
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
}

# Login with Amazon's client secret: only the functions that call LWA hold it.
LWA_FUNCTIONS = {"SkillFunction", "StreamFunction"}
LWA_VARIABLES = {"LWA_CLIENT_ID", "LWA_CLIENT_SECRET"}


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
    """`value` with every GetAtt in its list form, so that two spellings compare equal."""
    if isinstance(value, dict):
        return {
            k: (v.split(".", 1) if k == "Fn::GetAtt" and isinstance(v, str) else normal(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


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


def check_invokers(resources):
    """Each invoke permission is the one expected of its function, and nothing more."""
    problems, invoked = [], []
    for key, r in resources.items():
        if r["Type"] != "AWS::Lambda::Permission":
            continue
        props = normal(r["Properties"])
        function = name(props.get("FunctionName")).removesuffix(".Arn")
        invoked.append(function)
        if function not in EXPECTED_INVOKERS:
            problems.append(f"{key}: an invoke permission on {function}, which takes none")
            continue
        if props.get("Action") != "lambda:InvokeFunction":
            problems.append(f"{key}: action is not lambda:InvokeFunction")
        expected = normal(EXPECTED_INVOKERS[function])
        for prop in sorted(expected.keys() | (props.keys() - {"Action", "FunctionName"})):
            if props.get(prop) != expected.get(prop):
                problems.append(
                    f"{key}: {prop} is {props.get(prop)!r}, not {expected.get(prop)!r}"
                )
    for function in EXPECTED_INVOKERS:
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
    """Parameters that end up in an IAM resource cannot add wildcards; secrets are not echoed."""
    problems = []
    parameters = template.get("Parameters", {})
    for _, resource in sorted(allowed):
        for variable in re.findall(r"\$\{(\w+)\}", resource):
            if variable not in parameters:
                continue
            pattern = parameters[variable].get("AllowedPattern")
            # CloudFormation matches the whole value against the pattern.
            if pattern is None or any(re.fullmatch(pattern, v) for v in ("*", "?", "a*", "a?")):
                problems.append(f"{variable} is in {resource}, but may hold * or ?")
    for key, parameter in parameters.items():
        if "Secret" in key and not parameter.get("NoEcho"):
            problems.append(f"{key} is not NoEcho")
    return problems


def check_environment(resources):
    """Where commands go, and the maker's API secret, are the skill's alone; the LWA secret is
    the skill's and the stream function's."""
    problems = []
    for key, r in resources.items():
        if r["Type"] != "AWS::Lambda::Function":
            continue
        variables = r["Properties"].get("Environment", {}).get("Variables", {}).keys()
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
    return problems


def check_security(template):
    """The README's security review, on a translated template: a list of what does not hold."""
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
    roles, every_allowed = {}, set()
    for function, expected in EXPECTED_PERMISSIONS.items():
        role = role_of(resources[function])
        if role in roles.values():
            problems.append(f"{function} shares its role {role}")
        roles[function] = role
        if resources.get(role, {}).get("Type") != "AWS::IAM::Role":
            problems.append(f"{function}: its role is {role}, not a role of this template")
            continue
        allowed, role_problems = role_permissions(resources[role])
        every_allowed |= allowed
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
    problems += check_indexes(resources, every_allowed)
    problems += check_parameters(template, every_allowed)
    return problems


def self_test(template):
    """The checks must catch what they are for: the breakages below that they no longer catch."""

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

    breakages = {
        "a broader role": lambda r: broader(
            r, "StreamFunction", "dynamodb:PutItem", {"Fn::GetAtt": ["TokensTable", "Arn"]}
        ),
        "an open invoke permission": opened,
        "the shadows of every account's things": lambda r: broader(
            r, "SkillFunction", "iot:UpdateThingShadow", "*"
        ),
        "an invoke permission for every rule": lambda r: opened(r, "SourceArn"),
        "a rule selecting every topic": widened,
    }
    missed = []
    for what, breaking in breakages.items():
        broken = copy.deepcopy(template)
        breaking(broken["Resources"])
        if not check_security(broken):
            missed.append(what)
    return missed


class NoManagedPolicies:
    """The translator asks IAM for AWS managed policies; offline there are none to resolve."""

    def load(self):
        return {}


def main(path="template.yaml"):
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path) as f:
        template = yaml_parse(f.read())
    # `sam build` replaces local CodeUris with uploaded artifacts; so does this, with a placeholder.
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            props = resource.setdefault("Properties", {})
            if not str(props.get("CodeUri", "")).startswith("s3://"):
                props["CodeUri"] = PLACEHOLDER_CODE
    translated = transform(template, {}, NoManagedPolicies())
    problems = check_security(translated)
    missed = self_test(translated)
    if missed:
        problems.append(f"the security checks no longer catch {', '.join(missed)}")
    for problem in problems:
        print(f"security {path}: {problem}")
    print(f"security {path}: {'FAILED' if problems else 'invocation and IAM as reviewed'}")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(translated, out, indent=1)
    failed = bool(problems)
    for target in (path, out.name):
        result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), target])
        print(f"cfn-lint {'(translated) ' if target == out.name else ''}{path}: exit {result.returncode}")
        failed |= result.returncode != 0
    os.unlink(out.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
