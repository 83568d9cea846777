// Moves messages from a dead-letter queue back to its source. On AWS this is SQS's own message move
// task; a local emulator without move tasks can implement DeadLetterMover with receive/send/delete.
import { ListMessageMoveTasksCommand, StartMessageMoveTaskCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { awsCall, OpsError } from '../aws/errors';
import type { QueueRef } from '../aws/queue-attributes';

export interface MoveProgress {
  /** RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED. */
  readonly status: string;
  readonly moved: number;
  readonly toMove?: number;
  readonly failureReason?: string;
}

export interface DeadLetterMover {
  /** Starts moving every message; refuses when a move from this DLQ is already running. */
  start(deadLetterQueue: QueueRef, source: QueueRef): Promise<void>;
  progress(deadLetterQueue: QueueRef): Promise<MoveProgress>;
}

export const FINISHED_STATUSES = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

export function sqsMessageMoveTask(sqs: SQSClient, maxMessagesPerSecond?: number): DeadLetterMover {
  const latestTask = async (deadLetterQueue: QueueRef) => {
    // Tasks come back most recent first.
    const response = await awsCall('sqs:ListMessageMoveTasks', () =>
      sqs.send(new ListMessageMoveTasksCommand({ SourceArn: deadLetterQueue.arn, MaxResults: 1 })),
    );
    return response.Results?.[0];
  };

  return {
    async start(deadLetterQueue, source) {
      const running = await latestTask(deadLetterQueue);
      if (running?.Status === 'RUNNING') {
        throw new OpsError(
          `a message move task from ${deadLetterQueue.name} is already running ` +
            `(${running.ApproximateNumberOfMessagesMoved ?? 0} moved so far); wait for it or cancel it`,
          1,
        );
      }
      await awsCall('sqs:StartMessageMoveTask', () =>
        sqs.send(
          new StartMessageMoveTaskCommand({
            SourceArn: deadLetterQueue.arn,
            DestinationArn: source.arn,
            MaxNumberOfMessagesPerSecond: maxMessagesPerSecond,
          }),
        ),
      );
    },

    async progress(deadLetterQueue) {
      const task = await latestTask(deadLetterQueue);
      if (task === undefined) throw new OpsError(`no message move task found for ${deadLetterQueue.name}`);
      return {
        status: task.Status ?? 'UNKNOWN',
        moved: task.ApproximateNumberOfMessagesMoved ?? 0,
        toMove: task.ApproximateNumberOfMessagesToMove,
        failureReason: task.FailureReason,
      };
    },
  };
}
