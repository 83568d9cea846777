// Reads the SQS queue attributes the tools need. Plain SQS API calls, so they work the same against
// AWS and against a local emulator (an SQSClient with `endpoint` set).
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { awsCall } from './errors';
import { queueNameOf } from './queue-url';

export interface QueueRef {
  readonly url: string;
  readonly arn: string;
  readonly name: string;
}

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

export async function queueRef(sqs: SQSClient, url: string): Promise<QueueRef> {
  const response = await awsCall('sqs:GetQueueAttributes', () =>
    sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })),
  );
  return { url, arn: response.Attributes?.QueueArn ?? '', name: queueNameOf(url) };
}

export async function queueDepth(sqs: SQSClient, url: string): Promise<QueueDepth> {
  const response = await awsCall('sqs:GetQueueAttributes', () =>
    sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    ),
  );
  const count = (name: string) => Number(response.Attributes?.[name as never] ?? 0);
  return {
    visible: count('ApproximateNumberOfMessages'),
    inFlight: count('ApproximateNumberOfMessagesNotVisible'),
    delayed: count('ApproximateNumberOfMessagesDelayed'),
  };
}

export function totalMessages(depth: QueueDepth): number {
  return depth.visible + depth.inFlight + depth.delayed;
}
