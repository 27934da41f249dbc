"""Stripe webhook: verify the signature, forward payment events to the payment events queue.

Disputes also open an issue in the ops repository so that someone looks at them the same day,
and the raw payload is archived for the accounting team.
"""

import base64
import json
import logging
import os
import time

import boto3
import stripe
import urllib3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

stripe.api_key = os.environ["STRIPE_SECRET_KEY"]
WEBHOOK_SECRET = os.environ["STRIPE_WEBHOOK_SECRET"]
QUEUE_URL = os.environ["PAYMENT_EVENTS_QUEUE_URL"]
OPS_REPO = "example-org/orders-ops"
ARCHIVE_BUCKET = "orders-webhook-archive"

FORWARDED_EVENTS = {"payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"}

sqs = boto3.client("sqs")
archive = boto3.client(
    "s3",
    aws_access_key_id=os.environ["ARCHIVE_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["ARCHIVE_SECRET_ACCESS_KEY"],
)
http = urllib3.PoolManager()


def handler(event, context):
    payload = event.get("body") or ""
    if event.get("isBase64Encoded"):
        payload = base64.b64decode(payload).decode()
    signature = (event.get("headers") or {}).get("stripe-signature", "")
    try:
        stripe_event = stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET)
    except (ValueError, stripe.error.SignatureVerificationError):
        logger.warning("rejected webhook with an invalid payload or signature")
        return {"statusCode": 400, "body": "invalid signature"}

    archive_payload(stripe_event["id"], payload)
    kind = stripe_event["type"]
    if kind in FORWARDED_EVENTS:
        forward(stripe_event)
    elif kind == "charge.dispute.created":
        open_dispute_issue(stripe_event["data"]["object"])
    return {"statusCode": 200, "body": json.dumps({"received": True})}


def forward(stripe_event):
    intent = stripe_event["data"]["object"]
    message = {
        "eventId": stripe_event["id"],
        "type": stripe_event["type"],
        "orderId": intent.get("metadata", {}).get("order_id"),
        "amount": intent.get("amount"),
        "currency": intent.get("currency"),
        "created": stripe_event["created"],
    }
    sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(message))


def archive_payload(event_id, payload):
    key = time.strftime("%Y/%m/%d/") + event_id + ".json"
    archive.put_object(Bucket=ARCHIVE_BUCKET, Key=key, Body=payload.encode())


def open_dispute_issue(dispute):
    body = {
        "title": f"Payment dispute {dispute['id']} ({dispute.get('reason', 'unknown reason')})",
        "body": f"Charge {dispute.get('charge')} is disputed for {dispute.get('amount')} "
                f"{dispute.get('currency', '').upper()}. Respond before the evidence deadline.",
        "labels": ["payments", "dispute"],
    }
    response = http.request(
        "POST",
        f"https://api.github.com/repos/{OPS_REPO}/issues",
        body=json.dumps(body),
        headers={
            "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
            "Accept": "application/vnd.github+json",
            "User-Agent": "orders-webhook",
        },
        timeout=5.0,
    )
    if response.status >= 300:
        logger.error("could not open the dispute issue: HTTP %s", response.status)
