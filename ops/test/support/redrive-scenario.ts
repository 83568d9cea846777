// Redrive scenarios for tests: the order-placed DLQ holding messages, its recent depth in
// CloudWatch, and a message move task progressing read by read.
import { GetQueueAttributesCommand, ListMessageMoveTasksCommand, StartMessageMoveTaskCommand, type GetQueueAttributesRequest } from '@aws-sdk/client-sqs';
import { answerMetrics, mocks, OUTPUTS } from './stack';

export const DLQ_ARN = 'arn:aws:sqs:us-west-2:111122223333:surge-prod-order-placed-dlq';
export const SOURCE_ARN = 'arn:aws:sqs:us-west-2:111122223333:surge-prod-order-placed';

/** Queues answer with their ARN, and the order-placed DLQ holds `dlqMessages` visible messages. */
export function mockQueues(dlqMessages: number) {
  mocks.sqs.on(GetQueueAttributesCommand).callsFake((input: GetQueueAttributesRequest) => {
    const url = input.QueueUrl!;
    if (input.AttributeNames?.includes('QueueArn')) {
      return { Attributes: { QueueArn: `arn:aws:sqs:us-west-2:111122223333:${url.split('/').pop()}` } };
    }
    const visible = url === OUTPUTS.OrderPlacedDlqUrl ? dlqMessages : 0;
    return {
      Attributes: {
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: '0',
        ApproximateNumberOfMessagesDelayed: '0',
      },
    };
  });
}

/** The DLQ's visible messages per minute over the window. */
export function dlqVisible(series: number[]) {
  answerMetrics({ ApproximateNumberOfMessagesVisible: { 'surge-prod-order-placed-dlq': series } });
}

/** A move task that has moved `moved(n)` of 10 messages on the n-th progress read, finishing as `finalStatus`. */
export function mockMoveTask(readsUntilDone: number, finalStatus = 'COMPLETED', failureReason?: string) {
  let reads = 0;
  let started = false;
  mocks.sqs.on(StartMessageMoveTaskCommand).callsFake(() => {
    started = true;
    return { TaskHandle: 'handle-1' };
  });
  mocks.sqs.on(ListMessageMoveTasksCommand).callsFake(() => {
    if (!started) return { Results: [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 4, SourceArn: DLQ_ARN }] };
    reads += 1;
    const done = reads >= readsUntilDone;
    return {
      Results: [
        {
          Status: done ? finalStatus : 'RUNNING',
          ApproximateNumberOfMessagesMoved: done ? 10 : reads * 3,
          ApproximateNumberOfMessagesToMove: 10,
          SourceArn: DLQ_ARN,
          DestinationArn: SOURCE_ARN,
          FailureReason: done ? failureReason : undefined,
        },
      ],
    };
  });
}

