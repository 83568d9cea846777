// The redrive use case: check the DLQ has messages and is no longer receiving failures, move the
// messages back to the source queue, follow the move to its end. Shared by the AWS command and a
// local redrive: everything environment-specific comes in through the activity and mover.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { OpsError } from '../aws/errors';
import { queueDepth, type QueueRef } from '../aws/queue-attributes';
import type { Clock } from '../clock';
import type { DeadLetterActivity, FailureTrend } from './dead-letter-activity';
import { FINISHED_STATUSES, type DeadLetterMover, type MoveProgress } from './message-mover';

export interface RedriveInput {
  readonly sqs: SQSClient;
  readonly deadLetterQueue: QueueRef;
  readonly source: QueueRef;
  readonly activity: DeadLetterActivity;
  readonly mover: DeadLetterMover;
  /** Redrive even while the DLQ is still receiving failures. */
  readonly force: boolean;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  /** Stop following (the move itself continues in SQS) after this long. */
  readonly timeoutMs: number;
  readonly onTrend?: (trend: FailureTrend) => void;
  readonly onProgress?: (progress: MoveProgress) => void;
}

export type RedriveOutcome =
  | { readonly kind: 'nothing-to-move' }
  | { readonly kind: 'finished'; readonly progress: MoveProgress; readonly elapsedMs: number }
  | { readonly kind: 'still-running'; readonly progress: MoveProgress; readonly elapsedMs: number };

export async function redriveDeadLetters(input: RedriveInput): Promise<RedriveOutcome> {
  const { clock, deadLetterQueue } = input;
  const waiting = (await queueDepth(input.sqs, deadLetterQueue.url)).visible;
  if (waiting === 0) return { kind: 'nothing-to-move' };

  const trend = await input.activity.recentFailures(deadLetterQueue);
  input.onTrend?.(trend);
  if (trend.receiving && !input.force) {
    throw new OpsError(
      `refusing to redrive ${deadLetterQueue.name}: it is still receiving failures (${trend.detail}). ` +
        'Fix the consumer first, or pass --force to redrive anyway.',
      1,
    );
  }

  const startedAt = clock.now();
  await input.mover.start(deadLetterQueue, input.source);
  let progress: MoveProgress = { status: 'RUNNING', moved: 0, toMove: waiting };
  while (clock.now() - startedAt < input.timeoutMs) {
    await clock.sleep(input.pollIntervalMs);
    progress = await input.mover.progress(deadLetterQueue);
    input.onProgress?.(progress);
    if (FINISHED_STATUSES.has(progress.status)) {
      return { kind: 'finished', progress, elapsedMs: clock.now() - startedAt };
    }
  }
  return { kind: 'still-running', progress, elapsedMs: clock.now() - startedAt };
}
