"""Loads supplier invoices (CSV) dropped in the invoices bucket into the orders table.

Expected columns: invoice_id, supplier, order_id, amount_cents, currency, issued_on.
"""

import csv
import io
import os
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source

logger = Logger()
tracer = Tracer()

s3 = boto3.client("s3")
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])

REQUIRED_COLUMNS = {"invoice_id", "supplier", "order_id", "amount_cents", "currency", "issued_on"}


@tracer.capture_method
def load_invoices(bucket: str, key: str) -> int:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(body))
    missing = REQUIRED_COLUMNS - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"{key}: missing columns {sorted(missing)}")
    count = 0
    with table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
        for row in reader:
            batch.put_item(Item={
                "pk": f"ORDER#{row['order_id']}",
                "sk": f"INVOICE#{row['invoice_id']}",
                "supplier": row["supplier"],
                "amountCents": int(row["amount_cents"]),
                "currency": row["currency"].upper(),
                "issuedOn": row["issued_on"],
                "sourceObject": f"s3://{bucket}/{key}",
            })
            count += 1
    return count


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=S3Event)
def handler(event: S3Event, context):
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)
        loaded = load_invoices(record.s3.bucket.name, key)
        logger.info("invoices loaded", extra={"object": key, "rows": loaded})
