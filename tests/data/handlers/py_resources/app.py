"""boto3 resource objects: tables, buckets, objects, collections, queues, messages, topics."""
import boto3

dynamodb = boto3.resource("dynamodb")
s3 = boto3.resource("s3")
sqs = boto3.resource("sqs")
sns = boto3.resource("sns")

orders = dynamodb.Table("orders")


def handler(event, context):
    orders.query(IndexName="byCustomer", KeyConditionExpression="customer = :c")
    orders.update_item(Key={"id": "1"}, UpdateExpression="SET seen = :t")
    with orders.batch_writer() as batch:
        batch.delete_item(Key={"id": "2"})

    bucket = s3.Bucket("reports")
    for summary in bucket.objects.filter(Prefix="daily/"):
        summary.get()
    bucket.objects.filter(Prefix="tmp/").delete()
    bucket.Object("latest.csv").put(Body=b"")
    bucket.wait_until_exists()

    queue = sqs.get_queue_by_name(QueueName="jobs")
    for message in queue.receive_messages(MaxNumberOfMessages=10):
        message.delete()

    sns.Topic("arn:aws:sns:us-east-1:123456789012:alerts").publish(Message="done")
