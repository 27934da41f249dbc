// Confirms the orders queued by the API: stores each one once and publishes OrderConfirmed.
// Failed records are reported individually so that SQS retries only those (ReportBatchItemFailures).
import { DynamoDBClient, ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";

const { TABLE_NAME, EVENT_BUS_NAME } = process.env;
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const events = new EventBridgeClient({});

export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      await confirm(JSON.parse(record.body));
    } catch (error) {
      console.error("order not confirmed", { messageId: record.messageId, error: error.name });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};

async function confirm(order) {
  const now = new Date().toISOString();
  try {
    await documents.send(new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        pk: `ORDER#${order.orderId}`,
        sk: "META",
        customerId: order.customerId,
        items: order.items,
        status: "CONFIRMED",
        createdAt: now,
      },
      // Idempotent: a redelivered message must not overwrite an order that has moved on.
      ConditionExpression: "attribute_not_exists(pk)",
    }));
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      return; // already confirmed by an earlier delivery
    }
    throw error;
  }
  await events.send(new PutEventsCommand({
    Entries: [{
      EventBusName: EVENT_BUS_NAME,
      Source: "orders.processor",
      DetailType: "OrderConfirmed",
      Detail: JSON.stringify({ orderId: order.orderId, customerId: order.customerId, confirmedAt: now }),
    }],
  }));
}
