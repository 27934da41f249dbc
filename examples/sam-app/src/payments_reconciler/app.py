"""Marks orders paid (or payment-failed) from the events forwarded by the Stripe webhook.

Each paid order gets a receipt signature (HMAC-SHA256) that the customer portal verifies. The
signing key comes from Secrets Manager through a CloudFormation dynamic reference.
"""

import hashlib
import hmac
import json
import os

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS)

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
SIGNING_KEY = os.environ["RECEIPT_SIGNING_KEY"].encode()

STATUS_BY_EVENT = {
    "payment_intent.succeeded": "PAID",
    "payment_intent.payment_failed": "PAYMENT_FAILED",
    "charge.refunded": "REFUNDED",
}


def sign_receipt(order_id: str, amount: int, currency: str) -> str:
    message = f"{order_id}:{amount}:{currency}".encode()
    return hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    payment = json.loads(record.body)
    order_id = payment.get("orderId")
    status = STATUS_BY_EVENT.get(payment.get("type", ""))
    if not order_id or status is None:
        logger.warning("ignoring payment event", extra={"event_id": payment.get("eventId")})
        return
    values = {":status": status, ":event": payment["eventId"]}
    update = "SET #status = :status, lastPaymentEvent = :event"
    if status == "PAID":
        update += ", receiptSignature = :signature"
        values[":signature"] = sign_receipt(order_id, payment["amount"], payment["currency"])
    table.update_item(
        Key={"pk": f"ORDER#{order_id}", "sk": "META"},
        UpdateExpression=update,
        # Only orders that exist, and never the same payment event twice.
        ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(lastPaymentEvent) "
                            "OR lastPaymentEvent <> :event)",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values,
    )
    logger.info("order payment recorded", extra={"order_id": order_id, "status": status})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
