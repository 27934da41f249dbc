import boto3

_dynamodb = boto3.resource("dynamodb")


def table(name):
    return _dynamodb.Table(name)
