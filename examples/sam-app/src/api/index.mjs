// Orders REST API: POST /orders queues a new order, GET /orders/{orderId} reads one.
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";

const { TABLE_NAME, ORDERS_QUEUE_URL } = process.env;
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const sqs = new SQSClient({});

const MAX_ITEMS = 50;

export const handler = async (event) => {
  try {
    if (event.httpMethod === "POST" && event.resource === "/orders") {
      return await createOrder(JSON.parse(event.body ?? "{}"));
    }
    if (event.httpMethod === "GET" && event.resource === "/orders/{orderId}") {
      return await getOrder(event.pathParameters.orderId);
    }
    return respond(404, { message: "not found" });
  } catch (error) {
    if (error instanceof SyntaxError) {
      return respond(400, { message: "the body is not valid JSON" });
    }
    console.error("request failed", { requestId: event.requestContext?.requestId, error: error.name });
    return respond(500, { message: "internal error" });
  }
};

async function createOrder(order) {
  const problem = validate(order);
  if (problem) {
    return respond(400, { message: problem });
  }
  const orderId = randomUUID();
  await sqs.send(new SendMessageCommand({
    QueueUrl: ORDERS_QUEUE_URL,
    MessageBody: JSON.stringify({ orderId, customerId: order.customerId, items: order.items }),
  }));
  return respond(202, { orderId, status: "PENDING" });
}

async function getOrder(orderId) {
  const { Item } = await documents.send(new GetCommand({
    TableName: TABLE_NAME,
    Key: { pk: `ORDER#${orderId}`, sk: "META" },
  }));
  if (!Item) {
    return respond(404, { message: "order not found" });
  }
  const { pk, sk, ...order } = Item;
  return respond(200, order);
}

function validate(order) {
  if (typeof order.customerId !== "string" || order.customerId.length === 0) {
    return "customerId is required";
  }
  if (!Array.isArray(order.items) || order.items.length === 0 || order.items.length > MAX_ITEMS) {
    return `items must list between 1 and ${MAX_ITEMS} products`;
  }
  const invalid = order.items.find((item) => typeof item.sku !== "string" || !Number.isInteger(item.quantity)
    || item.quantity < 1);
  return invalid ? "every item needs a sku and a positive integer quantity" : null;
}

function respond(statusCode, body) {
  return {
    statusCode,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}
