"""The S3 transfer helpers and presigned URLs: the operations they call under the hood."""
import boto3

s3 = boto3.client("s3")
KEY_ID = "arn:aws:kms:eu-west-1:123456789012:key/5678efgh"


def handler(event, context):
    s3.upload_file("/tmp/report.pdf", "reports", "2026/report.pdf",
                   ExtraArgs={"ACL": "bucket-owner-full-control", "SSEKMSKeyId": KEY_ID,
                              "ServerSideEncryption": "aws:kms"})
    with open("/tmp/in.csv", "wb") as handle:
        s3.download_fileobj("incoming", "in.csv", handle)
    s3.copy({"Bucket": "incoming", "Key": "in.csv"}, "archive", "2026/in.csv")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "uploads", "Key": "u/1"})
    boto3.resource("s3").Object("exports", "latest.json").upload_file("/tmp/latest.json")
    return url
