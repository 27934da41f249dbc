"""Clients made through every spelling of boto3's entry points."""
import boto3 as b3
import botocore.session
from boto3 import client as make_client
from boto3 import resource
from boto3.session import Session

s3 = b3.client("s3")
sqs = make_client(service_name="sqs")
session = Session(region_name="eu-west-1")
sns = session.client("sns")
ddb = resource("dynamodb")
core_kms = botocore.session.get_session().create_client("kms")


def handler(event, context):
    s3.head_bucket(Bucket="orders-archive")
    sqs.get_queue_url(QueueName="orders")
    sns.publish(TopicArn="arn:aws:sns:eu-west-1:123456789012:orders", Message="x")
    ddb.Table("orders").get_item(Key={"id": "1"})
    core_kms.decrypt(CiphertextBlob=b"...", KeyId="arn:aws:kms:eu-west-1:123456789012:key/1234abcd")
    b3.session.Session().client("sts").get_caller_identity()
