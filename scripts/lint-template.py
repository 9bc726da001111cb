"""Lints template.yaml offline.

cfn-lint alone does not look inside SAM resources (a misspelt event property or a policy that
references a missing resource passes), so the template is also translated to plain
CloudFormation with aws-sam-translator, the library `sam deploy` uses, and that is linted too.

The translated template (what would really be deployed) is then checked against the README's
security review: only the configured skill may invoke the skill function, and each function's
role allows exactly what its code uses.
"""

import copy
import json
import os
import subprocess
import sys
import tempfile

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE = "s3://placeholder-bucket/placeholder.zip"

# Every (action, resource) each function's role allows: the DynamoDB calls of its code
# (src/store/dynamo.rs: token GetItem; devices Query; device GetItem; update_state UpdateItem;
# grant GetItem; put_grant UpdateItem; replace_grant PutItem; delete_grant DeleteItem) and its
# own log group. The stream function touches no table but grants.
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
        ("sqs:SendMessage", "DeviceChangesDeadLetterQueue.Arn"),
        ("logs:CreateLogStream", "StreamFunctionLogGroup.Arn"),
        ("logs:PutLogEvents", "StreamFunctionLogGroup.Arn"),
    },
}

# Smart home directives carry no skill id: the invoke permission is the only check.
SMART_HOME_PRINCIPAL = "alexa-connectedhome.amazon.com"


def as_list(value):
    return value if isinstance(value, list) else [value]


def name(ref):
    """{"Fn::GetAtt": ["T", "Arn"]} or "T.Arn" → "T.Arn"; {"Ref": "T"} → "T"; "*" → "*"."""
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        att = ref["Fn::GetAtt"]
        return ".".join(att) if isinstance(att, list) else att
    if isinstance(ref, dict) and "Ref" in ref:
        return ref["Ref"]
    return ref if isinstance(ref, str) else repr(ref)


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


def check_security(template):
    """The README's security review, on a translated template: a list of what does not hold."""
    resources = template["Resources"]
    problems = []
    permissions = {
        key: r["Properties"]
        for key, r in resources.items()
        if r["Type"] == "AWS::Lambda::Permission"
    }
    for key, props in permissions.items():
        if name(props.get("FunctionName")) not in ("SkillFunction", "SkillFunction.Arn"):
            problems.append(f"{key}: an invoke permission on another function")
        if props.get("Principal") != SMART_HOME_PRINCIPAL:
            problems.append(f"{key}: principal is not {SMART_HOME_PRINCIPAL}")
        if props.get("Action") != "lambda:InvokeFunction":
            problems.append(f"{key}: action is not lambda:InvokeFunction")
        if props.get("EventSourceToken") != {"Ref": "SkillId"}:
            problems.append(f"{key}: EventSourceToken is not the SkillId parameter")
    if len(permissions) != 1:
        problems.append(f"expected one invoke permission: {sorted(permissions)}")
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
    roles = {}
    for function, expected in EXPECTED_PERMISSIONS.items():
        role = name(resources[function]["Properties"].get("Role")).removesuffix(".Arn")
        if role in roles.values():
            problems.append(f"{function} shares its role {role}")
        roles[function] = role
        allowed, role_problems = role_permissions(resources[role])
        problems += [f"{function} ({role}): {p}" for p in role_problems]
        for action, resource in sorted(allowed - expected):
            problems.append(f"{function} may {action} on {resource}, which it does not need")
        for action, resource in sorted(expected - allowed):
            problems.append(f"{function} lacks {action} on {resource}, which it needs")
    return problems


def self_test(template):
    """The checks must catch what they are for: a broader role, an open invoke permission."""
    broader = copy.deepcopy(template)
    role = name(broader["Resources"]["StreamFunction"]["Properties"]["Role"]).removesuffix(".Arn")
    statements = broader["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
    statements["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": {"Fn::GetAtt": ["TokensTable", "Arn"]},
        }
    )
    opened = copy.deepcopy(template)
    for resource in opened["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Permission":
            resource["Properties"].pop("EventSourceToken", None)
    return all(check_security(t) for t in (broader, opened))


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
    if not self_test(translated):
        problems.append("the security checks no longer catch a broader role or an open permission")
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
