// Moves messages from a dead-letter queue back to its source queue through the plain SQS API, so it
// works against fauxqs and any SQS endpoint: receive, send a copy (body and attributes), then delete.
// A message is deleted from the DLQ only after its copy was sent, so a crash duplicates, never loses
// (the consumers are idempotent).
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export async function moveDeadLetters(sqs: SQSClient, from: string, to: string, max = 1000): Promise<number> {
  let moved = 0;
  while (moved < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: from, MaxNumberOfMessages: Math.min(10, max - moved), WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      await sqs.send(new SendMessageCommand({ QueueUrl: to, MessageBody: m.Body ?? '', MessageAttributes: m.MessageAttributes }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: from, ReceiptHandle: m.ReceiptHandle }));
      moved++;
    }
  }
  return moved;
}
