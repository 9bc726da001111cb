"""Lints template.yaml offline.

cfn-lint alone does not look inside SAM resources (a misspelt event property or a policy that
references a missing resource passes), so the template is also translated to plain
CloudFormation with aws-sam-translator, the library `sam deploy` uses, and that is linted too.
"""

import json
import os
import subprocess
import sys
import tempfile

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE = "s3://placeholder-bucket/placeholder.zip"


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
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(translated, out, indent=1)
    failed = False
    for target in (path, out.name):
        result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), target])
        print(f"cfn-lint {'(translated) ' if target == out.name else ''}{path}: exit {result.returncode}")
        failed |= result.returncode != 0
    os.unlink(out.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
