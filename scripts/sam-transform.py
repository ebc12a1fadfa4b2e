"""Expands template.yaml and its nested stacks with the SAM translator, offline, into plain
CloudFormation JSON, and checks that no stack nears CloudFormation's limit of resources.

cfn-lint 1.x validates SAM resources against SAM's schema but no longer runs the transform, so
mistakes that only the transform finds (an authorizer name that does not exist, `NONE` without a
default authorizer, bad event wiring) would otherwise surface at deploy time. scripts/test runs
this and then cfn-lint on the output.

The root's nested stacks (AWS::Serverless::Application with a local `Location`, or
AWS::CloudFormation::Stack with a local `TemplateURL`) are followed recursively; each template is
transformed on its own, as `sam package` and CloudFormation do. Every stack must stay at or below
RESOURCE_LIMIT resources after the transform (CloudFormation refuses a stack of more than 500),
so that adding routes to a capability fails here, with room left, rather than at deploy time.

usage: python scripts/sam-transform.py TEMPLATE OUTPUT_DIR
    writes OUTPUT_DIR/<template's path relative to TEMPLATE's folder, .json> for every stack
"""

import json
import os
import sys
from pathlib import Path

from cfnlint.decode import decode
from samtranslator.metrics.metrics import Metrics
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

# CloudFormation's limit is 500 resources per stack; this leaves a fifth of it for growth.
RESOURCE_LIMIT = 400
CLOUDFORMATION_LIMIT = 500
NESTED_TYPES = {"AWS::Serverless::Application": "Location", "AWS::CloudFormation::Stack": "TemplateURL"}

root_path, output_dir = Path(sys.argv[1]), Path(sys.argv[2])
base = root_path.resolve().parent
# Pseudo-parameters come from a boto session's region; no credentials or network are used.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")


def nested_locations(template):
    """The local template paths of the nested stacks a template names, by logical id."""
    found = {}
    for logical_id, resource in template.get("Resources", {}).items():
        key = NESTED_TYPES.get(resource.get("Type"))
        location = (resource.get("Properties") or {}).get(key) if key else None
        if isinstance(location, str) and not location.startswith(("https://", "s3://")):
            found[logical_id] = location
    return found


def transform(template, path):
    """`template` (read from `path`) after the SAM transform, or None (errors printed)."""
    nested = nested_locations(template)
    # The translator wants what `sam package` leaves behind: code and nested templates in S3
    # rather than local paths.
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/key"
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = "s3://bucket/key"
        if logical_id in nested:
            key = NESTED_TYPES[resource["Type"]]
            properties[key] = f"https://bucket.s3.amazonaws.com/{properties[key]}"
    # Metrics go nowhere (a dummy publisher); publishing them keeps the translator quiet.
    metrics = Metrics()
    try:
        return Translator(managed_policy_map={}, sam_parser=Parser(), metrics=metrics).translate(
            template, parameter_values={}
        )
    except InvalidDocumentException as invalid:
        for cause in invalid.causes:
            print(f"{path}: {cause.message}", file=sys.stderr)
        return None
    finally:
        metrics.publish()


failed = False
counts = []
pending = [root_path.resolve()]
seen = set()
while pending:
    path = pending.pop(0)
    if path in seen:
        continue
    seen.add(path)
    if not path.is_file():
        print(f"{path}: nested template not found", file=sys.stderr)
        failed = True
        continue
    source, errors = decode(str(path))
    if errors:
        print("\n".join(f"{path}: {e}" for e in errors), file=sys.stderr)
        failed = True
        continue
    pending.extend((path.parent / location).resolve() for location in nested_locations(source).values())
    expanded = transform(source, path)
    if expanded is None:
        failed = True
        continue
    relative = path.relative_to(base)
    output = output_dir / relative.with_suffix(".json")
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as out:
        json.dump(expanded, out, indent=1)
    counts.append((str(relative), len(expanded["Resources"]), len(expanded.get("Parameters", {}))))

print(f"CloudFormation resources after the SAM transform (limit here {RESOURCE_LIMIT}, CloudFormation's {CLOUDFORMATION_LIMIT}):")
for relative, resources, parameters in counts:
    over = resources > RESOURCE_LIMIT
    failed |= over
    print(f"  {relative:40} {resources:4} resources {parameters:3} parameters{'  OVER THE LIMIT' if over else ''}")
print(f"  {'all stacks':40} {sum(c[1] for c in counts):4} resources")
if any(c[1] > RESOURCE_LIMIT for c in counts):
    print(
        f"a stack has more than {RESOURCE_LIMIT} resources: move routes to another nested stack "
        "(infra/stacks/, README 'Deployment')",
        file=sys.stderr,
    )
sys.exit(1 if failed else 0)
