"""Operations whose IAM actions differ from their names or depend on the request."""
import json

import boto3

ddb = boto3.client("dynamodb")
clients = {name: boto3.client(name) for name in ("lambda",)}
lam = boto3.client("lambda")
sts = boto3.client("sts")
secrets = boto3.client("secretsmanager")
ssm = boto3.client("ssm")
events = boto3.client("events")
sfn = boto3.client("stepfunctions")
sqs = boto3.client("sqs")
sns = boto3.client("sns")
kms = boto3.client("kms")

TABLE = "orders"


def handler(event, context):
    ddb.execute_statement(Statement=f'SELECT * FROM "{TABLE}"."byStatus" WHERE status = ?')
    ddb.batch_execute_statement(Statements=[
        {"Statement": 'INSERT INTO "audit" VALUE {\'id\': ?}'},
        {"Statement": 'DELETE FROM "sessions" WHERE id = ?'},
    ])
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "orders", "Item": {}}},
        {"ConditionCheck": {"TableName": "customers", "Key": {}, "ConditionExpression": "attribute_exists(id)"}},
    ])
    ddb.batch_get_item(RequestItems={"customers": {"Keys": []}, "products": {"Keys": []}})
    lam.invoke(FunctionName="billing-worker", Payload=json.dumps(event))
    sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/reporting", RoleSessionName="orders")
    sts.get_caller_identity()
    secrets.get_secret_value(SecretId="prod/orders/db")
    ssm.get_parameters_by_path(Path="/orders/config/", WithDecryption=True)
    events.put_events(Entries=[{"Source": "orders", "DetailType": "created", "Detail": "{}"}])
    sfn.start_execution(stateMachineArn="arn:aws:states:eu-west-1:123456789012:stateMachine:fulfil", input="{}")
    sqs.send_message_batch(QueueUrl="https://sqs.eu-west-1.amazonaws.com/123456789012/orders", Entries=[])
    sns.publish_batch(TopicArn="arn:aws:sns:eu-west-1:123456789012:orders", PublishBatchRequestEntries=[])
    kms.encrypt(KeyId="alias/orders", Plaintext=b"x")
