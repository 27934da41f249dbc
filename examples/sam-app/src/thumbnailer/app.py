"""Builds 320px product thumbnails for the order confirmation e-mails.

Triggered by S3 notifications of the product images bucket; writes <key> to thumbnails/<key>.
"""

import io
import os
from urllib.parse import unquote_plus

import boto3
from PIL import Image

THUMBNAIL_WIDTH = int(os.environ.get("THUMBNAIL_WIDTH", "320"))
THUMBNAIL_PREFIX = "thumbnails/"

s3 = boto3.client("s3")


def thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 4))
        output = io.BytesIO()
        image.convert("RGB").save(output, format="JPEG", quality=85, optimize=True)
        return output.getvalue()


def handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        if key.startswith(THUMBNAIL_PREFIX):
            continue  # never process our own output
        original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(
            Bucket=bucket,
            Key=THUMBNAIL_PREFIX + key.rsplit(".", 1)[0] + ".jpg",
            Body=thumbnail(original),
            ContentType="image/jpeg",
        )
