"""Resource names from environment variables: the template gives their values (see expected.json)."""
import os
from os import environ, getenv

import boto3

TABLE = os.environ["TABLE_NAME"]
BUCKET = getenv("BUCKET")
QUEUE_URL = environ.get("QUEUE_URL")
TOPIC = os.environ.get("TOPIC_ARN") or "arn:aws:sns:eu-west-1:123456789012:fallback"
REGION = os.environ["AWS_REGION"]
ACCOUNT = os.environ["ACCOUNT_ID"]

ddb = boto3.client("dynamodb")
s3 = boto3.client("s3")


def handler(event, context):
    ddb.get_item(TableName=TABLE, Key={})
    s3.put_object(Bucket=BUCKET, Key="exports/" + event["name"], Body=b"")
    boto3.client("sqs").send_message(QueueUrl=QUEUE_URL, MessageBody="x")
    boto3.client("sns").publish(TopicArn=TOPIC, Message="x")
    boto3.client("secretsmanager").get_secret_value(SecretId=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db")
    boto3.client("ssm").get_parameter(Name=os.environ["PARAMETER"])
