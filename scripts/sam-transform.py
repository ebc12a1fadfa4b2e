"""Expands template.yaml with the SAM translator, offline, and writes plain CloudFormation JSON.

cfn-lint 1.x validates SAM resources against SAM's schema but no longer runs the transform, so
mistakes that only the transform finds (an authorizer name that does not exist, `NONE` without a
default authorizer, bad event wiring) would otherwise surface at deploy time. scripts/test runs
this and then cfn-lint on the output.

usage: python scripts/sam-transform.py TEMPLATE OUTPUT.json
"""

import json
import os
import sys

from cfnlint.decode import decode
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

template_path, output_path = sys.argv[1], sys.argv[2]
template, errors = decode(template_path)
if errors:
    sys.exit("\n".join(str(e) for e in errors))

# The translator wants what `sam package` leaves behind: code in S3 rather than a local path.
template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/key"
for resource in template.get("Resources", {}).values():
    if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in resource.get("Properties", {}):
        resource["Properties"]["CodeUri"] = "s3://bucket/key"

# Pseudo-parameters come from a boto session's region; no credentials or network are used.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
try:
    expanded = Translator(managed_policy_map={}, sam_parser=Parser()).translate(template, parameter_values={})
except InvalidDocumentException as invalid:
    for cause in invalid.causes:
        print(f"{template_path}: {cause.message}", file=sys.stderr)
    sys.exit(1)
with open(output_path, "w") as out:
    json.dump(expanded, out, indent=1)
print(f"{template_path}: {len(expanded['Resources'])} CloudFormation resources after the SAM transform")
