"""What static analysis cannot know is listed, never dropped."""
import boto3

s3 = boto3.client("s3")


def handler(event, context):
    service = event["service"]
    anything = boto3.client(service)
    anything.describe_everything()
    s3.get_object(Bucket=event["bucket"], Key=event["key"])
    s3.not_an_operation(Bucket="x")
    method = getattr(s3, event["method"])
    method()
    boto3.client("not-a-service")
