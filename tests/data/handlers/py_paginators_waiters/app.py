"""Paginators and waiters: the operation they call, with the parameters given to paginate() or wait()."""
import boto3

s3 = boto3.client("s3")
ddb = boto3.client("dynamodb")
logs = boto3.client("logs")


def handler(event, context):
    for _page in s3.get_paginator("list_objects_v2").paginate(Bucket="raw-data", Prefix="2026/"):
        pass
    scanner = ddb.get_paginator("scan")
    for _page in scanner.paginate(TableName="events"):
        pass
    ddb.get_waiter("table_exists").wait(TableName="events", WaiterConfig={"Delay": 1})
    s3.get_waiter("object_exists").wait(Bucket="raw-data", Key="ready.flag")
    logs.get_paginator("filter_log_events").paginate(logGroupName="/app/orders")
