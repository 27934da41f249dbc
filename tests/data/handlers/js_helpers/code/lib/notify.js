import { SNSClient, PublishCommand } from "@aws-sdk/client-sns";

const sns = new SNSClient({});

export async function send(message) {
  await sns.send(new PublishCommand({ TopicArn: "arn:aws:sns:us-east-1:123456789012:orders", Message: message }));
}
