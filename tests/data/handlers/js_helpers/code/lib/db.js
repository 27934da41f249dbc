const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, PutCommand } = require("@aws-sdk/lib-dynamodb");

const makeClient = () => DynamoDBDocumentClient.from(new DynamoDBClient({}));

class Repository {
  constructor(client) {
    this.client = client;
    this.table = "orders";
  }

  async save(item) {
    return this.client.send(new PutCommand({ TableName: this.table, Item: item }));
  }
}

module.exports = { makeClient, Repository };
