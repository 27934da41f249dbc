// Clients created in a helper file, passed as parameters, returned from factories and kept on `this`.
const { makeClient, Repository } = require("./lib/db");
const notify = require("./lib/notify");
const { S3Client, PutObjectCommand } = require("@aws-sdk/client-s3");

function store(client, bucket, key) {
  return client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "" }));
}

const s3 = new S3Client({});

module.exports.handler = async (event) => {
  const repository = new Repository(makeClient());
  await repository.save({ id: event.id });
  await store(s3, "archive", "orders/latest.json");
  await store(s3, "backup", "orders/latest.json");
  await notify.send("order saved");
};
