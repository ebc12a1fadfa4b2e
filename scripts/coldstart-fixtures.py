"""AWS resources and events for scripts/coldstart-report, on a moto server (run with the venv's
Python: it needs boto3, which moto brings).

    python coldstart-fixtures.py resources ENDPOINT ENV_OUT [NAME=VALUE ...]
        Creates what template.yaml's Globals point every function at — a KMS key, an EventBridge
        bus, the render, site publish and notify SQS queues, the documents and sites buckets —
        and one Secrets Manager secret per NAME=VALUE, named mas-bench/NAME (functions get
        NAME_ARN=mas-bench/NAME and read it at init, as on Lambda); and writes ENV_OUT: the Globals' environment (TABLE_NAME, MAS_KMS_KEY_ID, EVENT_BUS_NAME,
        DOCUMENTS_BUCKET, the queue URLs, …) plus AWS_ENDPOINT_URL=ENDPOINT and SITE_BUCKET (for
        site_publish). The table itself is created and seeded by the local host's `--seed-only`.

    python coldstart-fixtures.py events ENDPOINT TABLE EVENTS_DIR OUT_DIR STRIPE_SECRET TWILIO_TOKEN
        After the seed: finds the demo clinic and its owner in TABLE and writes events that do
        real work against them into OUT_DIR:
          pre-token-generation.json  the Cognito trigger for the demo owner (events/cognito/…)
          site-publish-batch.json    an SQS batch of one publish request for the demo clinic
          post-stripe-webhook.json   events/post-stripe-webhook.json signed with STRIPE_SECRET,
                                     stamped four minutes ahead (valid for nine minutes)
          twilio-status.json         a signed Twilio delivery report for a demo clinic message id
                                     (no such message: a real signature check and table read, 204)

Region: AWS_REGION, default eu-west-2 (as scripts/coldstart). Credentials: test/test.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.parse
from pathlib import Path

import boto3
from boto3.dynamodb.types import TypeDeserializer

REGION = os.environ.get("AWS_REGION") or "eu-west-2"
PREFIX = "mas-bench"
TABLE = f"{PREFIX}-table"
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")


def ulid() -> str:
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def resources(endpoint: str, env_out: Path, secret_values: list[str]) -> None:
    manager = client("secretsmanager", endpoint)
    for pair in secret_values:
        name, _, value = pair.partition("=")
        manager.create_secret(Name=f"{PREFIX}/{name}", SecretString=value)
    key = client("kms", endpoint).create_key(Description=f"{PREFIX} clinical data keys")["KeyMetadata"]["Arn"]
    client("events", endpoint).create_event_bus(Name=f"{PREFIX}-bus")
    sqs = client("sqs", endpoint)
    queues = {name: sqs.create_queue(QueueName=f"{PREFIX}-{name}")["QueueUrl"]
              for name in ("render", "site-publish", "notify")}
    s3 = client("s3", endpoint)
    for bucket in (f"{PREFIX}-documents", f"{PREFIX}-sites"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "TABLE_NAME": TABLE,
        "RUST_LOG": "info",
        "MAS_AUTH": "api_gateway",
        "MAS_STAGE": "bench",
        "MAS_SITE_DOMAIN": "sites.example.test",
        "MAS_KMS_KEY_ID": key,
        "EVENT_BUS_NAME": f"{PREFIX}-bus",
        "DOCUMENTS_BUCKET": f"{PREFIX}-documents",
        "RENDER_QUEUE_URL": queues["render"],
        "SITE_PUBLISH_QUEUE_URL": queues["site-publish"],
        "NOTIFY_QUEUE_URL": queues["notify"],
        "MAIL_FROM": "bookings@mail.example.test",
    }
    lines = ["# template.yaml's Globals, pointed at the moto server (scripts/coldstart-fixtures.py)"]
    lines += [f"{k}={v}" for k, v in env.items()]
    lines += ["# site_publish's own", f"SITE_BUCKET={PREFIX}-sites"]
    env_out.write_text("\n".join(lines) + "\n")


def demo(endpoint: str, table: str) -> tuple[str, dict]:
    """The demo clinic's tenant id and its owner (member item)."""
    dynamo = client("dynamodb", endpoint)
    decode = TypeDeserializer().deserialize
    slug = dynamo.get_item(TableName=table, Key={"PK": {"S": "TENANT_SLUG#demo-clinic"}, "SK": {"S": "SLUG"}})
    if "Item" not in slug:
        raise SystemExit(f"no demo clinic in {table}: seed it first (local --seed-only)")
    tenant = decode(slug["Item"].get("tenant_id", {"NULL": True}))
    if not tenant:
        raise SystemExit(f"the demo clinic's slug item names no tenant: {slug['Item']}")
    members = dynamo.query(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant}"}, ":sk": {"S": "MEMBER#"}},
    )["Items"]
    for raw in members:
        member = {k: decode(v) for k, v in raw.items()}
        if member.get("email") == "owner@demo-clinic.test":  # the member's input is flattened
            return tenant, member
    raise SystemExit(f"the demo clinic {tenant} has no owner@demo-clinic.test member")


def sqs_batch(body: dict, source_queue: str) -> dict:
    now = str(int(time.time() * 1000))
    text = json.dumps(body)
    return {"Records": [{
        "messageId": f"{secrets.token_hex(4)}-0000-4000-8000-{secrets.token_hex(6)}",
        "receiptHandle": "AQEBbench",
        "body": text,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now, "SenderId": "AIDABENCH",
                       "ApproximateFirstReceiveTimestamp": now},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{source_queue}",
        "awsRegion": REGION,
    }]}


def events(endpoint: str, table: str, events_dir: Path, out: Path, stripe_secret: str, twilio_token: str) -> None:
    tenant, owner = demo(endpoint, table)
    out.mkdir(parents=True, exist_ok=True)

    pre_token = json.loads((events_dir / "cognito/pre-token-generation.json").read_text())
    pre_token["userName"] = owner["id"]
    attributes = pre_token["request"]["userAttributes"]
    attributes["email"] = owner["email"]
    attributes["custom:tenant_id"] = tenant
    attributes["custom:member_id"] = owner["id"]
    (out / "pre-token-generation.json").write_text(json.dumps(pre_token, indent=2))

    publish = sqs_batch({"tenant_id": tenant, "publish_id": f"pub_{ulid()}"}, f"{PREFIX}-site-publish")
    (out / "site-publish-batch.json").write_text(json.dumps(publish, indent=2))

    stripe = json.loads((events_dir / "post-stripe-webhook.json").read_text())
    stamp = int(time.time()) + 240
    tag = hmac.new(stripe_secret.encode(), f"{stamp}.{stripe['body']}".encode(), hashlib.sha256).hexdigest()
    stripe["headers"]["stripe-signature"] = f"t={stamp},v1={tag}"
    (out / "post-stripe-webhook.json").write_text(json.dumps(stripe, indent=2))

    # A delivery report as Twilio posts it to the status callback of a message we sent.
    template = json.loads((events_dir / "post-stripe-webhook.json").read_text())
    host = template["headers"]["host"]
    query = urllib.parse.urlencode({"message": f"{tenant}.msg_{ulid()}"})
    params = {"MessageSid": "SM" + secrets.token_hex(16), "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    body = urllib.parse.urlencode(params)
    signed = f"https://{host}/webhooks/twilio/status?{query}" + "".join(k + v for k, v in sorted(params.items()))
    signature = base64.b64encode(hmac.new(twilio_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    twilio = copy.deepcopy(template)
    twilio.update({"routeKey": "POST /webhooks/twilio/status", "rawPath": "/webhooks/twilio/status",
                   "rawQueryString": query, "body": body, "isBase64Encoded": False,
                   "queryStringParameters": {"message": urllib.parse.parse_qs(query)["message"][0]}})
    twilio["headers"] = {k: v for k, v in template["headers"].items() if k != "stripe-signature"}
    twilio["headers"].update({"content-type": "application/x-www-form-urlencoded", "content-length": str(len(body)),
                              "user-agent": "TwilioProxy/1.1", "x-twilio-signature": signature})
    twilio["requestContext"]["routeKey"] = "POST /webhooks/twilio/status"
    twilio["requestContext"]["http"].update({"method": "POST", "path": "/webhooks/twilio/status",
                                             "userAgent": "TwilioProxy/1.1"})
    (out / "twilio-status.json").write_text(json.dumps(twilio, indent=2))
    print(f"demo clinic {tenant}, owner {owner['id']}: events in {out}")


def main() -> None:
    match sys.argv[1:]:
        case ["resources", endpoint, env_out, *secret_values]:
            resources(endpoint, Path(env_out), secret_values)
        case ["events", endpoint, table, events_dir, out, stripe_secret, twilio_token]:
            events(endpoint, table, Path(events_dir), Path(out), stripe_secret, twilio_token)
        case _:
            raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
