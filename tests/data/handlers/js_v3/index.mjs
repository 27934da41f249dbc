// AWS SDK for JavaScript v3: commands, aggregated clients, paginators, waiters, the document client, uploads.
import { S3Client, GetObjectCommand as Get, paginateListObjectsV2, waitUntilObjectExists } from "@aws-sdk/client-s3";
import * as sqs from "@aws-sdk/client-sqs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { SecretsManager } from "@aws-sdk/client-secrets-manager";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";

const s3 = new S3Client({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const queue = new sqs.SQSClient({});
const BUCKET = "media";

export const handler = async (event) => {
  const object = await s3.send(new Get({ Bucket: BUCKET, Key: `in/${event.key}` }));
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: BUCKET, Prefix: "in/" })) {
    console.log(page.KeyCount);
  }
  await waitUntilObjectExists({ client: s3, maxWaitTime: 10 }, { Bucket: BUCKET, Key: "ready" });
  await doc.send(new PutCommand({ TableName: "orders", Item: { id: event.id } }));
  const byDate = new QueryCommand({ TableName: "orders", IndexName: "byDate", KeyConditionExpression: "d = :d" });
  await doc.send(byDate);
  await doc.send(new TransactWriteCommand({ TransactItems: [{ Delete: { TableName: "carts", Key: {} } }] }));
  await queue.send(new sqs.SendMessageCommand({ QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs", MessageBody: "x" }));
  await new Upload({ client: s3, params: { Bucket: BUCKET, Key: "out/result.json", Body: "{}" } }).done();
  const url = await getSignedUrl(s3, new Get({ Bucket: "downloads", Key: "report.pdf" }), { expiresIn: 60 });
  await new SecretsManager({}).getSecretValue({ SecretId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf" });
  await new SFNClient({}).send(new StartExecutionCommand({ stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:ship" }));
  return { object, url };
};
