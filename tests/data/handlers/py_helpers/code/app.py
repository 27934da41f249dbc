"""Clients passed as parameters, returned from helpers, kept on self, imported from a sibling package."""
import boto3
from lib import tables
from lib.storage import Archive, archive_client

_sqs = None


def queue_client():
    global _sqs
    if _sqs is None:
        _sqs = boto3.client("sqs")
    return _sqs


def save(table, item):
    table.put_item(Item=item)


def handler(event, context):
    save(tables.table("orders"), {"id": event["id"]})
    save(tables.table("audit"), {"id": event["id"], "kind": "order"})
    queue_client().send_message(QueueUrl="https://sqs.eu-west-1.amazonaws.com/123456789012/orders", MessageBody="x")
    Archive(archive_client()).store(event["id"])
