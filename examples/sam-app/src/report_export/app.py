"""Nightly export of the orders table to CSV, uploaded to S3 and announced to the BI partner.

Runs on python3.8 (the runtime this job was written for; see the lambdasec findings).
"""

import csv
import datetime
import io
import os
from typing import Dict, Iterator, List

import boto3
import requests

TABLE_NAME = os.environ["TABLE_NAME"]
EXPORT_BUCKET = os.environ["EXPORT_BUCKET"]
PARTNER_API_URL = os.environ["PARTNER_API_URL"]
PARTNER_API_TOKEN = os.environ["PARTNER_API_TOKEN"]

COLUMNS = ["order_id", "customer_id", "status", "created_at", "item_count"]

dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")


def orders() -> Iterator[Dict[str, str]]:
    paginator = dynamodb.get_paginator("scan")
    pages = paginator.paginate(
        TableName=TABLE_NAME,
        FilterExpression="sk = :meta",
        ExpressionAttributeValues={":meta": {"S": "META"}},
    )
    for page in pages:
        for item in page["Items"]:
            yield {
                "order_id": item["pk"]["S"].split("#", 1)[1],
                "customer_id": item.get("customerId", {}).get("S", ""),
                "status": item.get("status", {}).get("S", ""),
                "created_at": item.get("createdAt", {}).get("S", ""),
                "item_count": str(len(item.get("items", {}).get("L", []))),
            }


def to_csv(rows: Iterator[Dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def handler(event, context):
    day = event.get("date") or datetime.date.today().isoformat()
    key = "exports/orders-{}.csv".format(day)
    s3.put_object(Bucket=EXPORT_BUCKET, Key=key, Body=to_csv(orders()), ContentType="text/csv")
    download_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": EXPORT_BUCKET, "Key": key}, ExpiresIn=6 * 3600
    )
    notified: List[str] = []
    response = requests.post(
        PARTNER_API_URL,
        json={"dataset": "orders", "date": day, "url": download_url},
        headers={"Authorization": "Bearer " + PARTNER_API_TOKEN},
        timeout=10,
    )
    response.raise_for_status()
    notified.append(PARTNER_API_URL)
    return {"export": "s3://{}/{}".format(EXPORT_BUCKET, key), "notified": notified}
