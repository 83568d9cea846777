// The redrive use case with its environment-specific parts replaced, as a local redrive against
// the SQS emulator would: a DeadLetterActivity and a DeadLetterMover of its own.
import './support/fake-aws-env';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { QueueRef } from '../aws/queue-attributes';
import type { DeadLetterActivity } from '../redrive/dead-letter-activity';
import type { DeadLetterMover, MoveProgress } from '../redrive/message-mover';
import { redriveDeadLetters } from '../redrive/redrive';
import { FakeClock } from './support/fake-clock';
import { mockQueues } from './support/redrive-scenario';
import { OUTPUTS, resetMocks } from './support/stack';

const dlq: QueueRef = { url: OUTPUTS.OrderPlacedDlqUrl, arn: 'arn:dlq', name: 'surge-prod-order-placed-dlq' };
const source: QueueRef = { url: OUTPUTS.OrderPlacedQueueUrl, arn: 'arn:source', name: 'surge-prod-order-placed' };

/** Moves two messages per progress read, as a receive/send/delete loop would. */
function inMemoryMover(total: number): DeadLetterMover & { started: [QueueRef, QueueRef][] } {
  let moved = 0;
  const started: [QueueRef, QueueRef][] = [];
  return {
    started,
    async start(from, to) {
      started.push([from, to]);
    },
    async progress(): Promise<MoveProgress> {
      moved = Math.min(total, moved + 2);
      return { status: moved === total ? 'COMPLETED' : 'RUNNING', moved, toMove: total };
    },
  };
}

const quiet: DeadLetterActivity = { recentFailures: async () => ({ receiving: false, detail: 'depth steady' }) };
const busy: DeadLetterActivity = { recentFailures: async () => ({ receiving: true, detail: 'depth 3 -> 9' }) };

beforeEach(() => {
  resetMocks();
  mockQueues(5);
});

test('drives any mover to completion, reporting each step', async () => {
  const mover = inMemoryMover(5);
  const steps: number[] = [];
  const outcome = await redriveDeadLetters({
    sqs: new SQSClient({}),
    deadLetterQueue: dlq,
    source,
    activity: quiet,
    mover,
    force: false,
    clock: new FakeClock(0),
    pollIntervalMs: 1000,
    timeoutMs: 60_000,
    onProgress: (p) => steps.push(p.moved),
  });
  expect(mover.started).toEqual([[dlq, source]]);
  expect(steps).toEqual([2, 4, 5]);
  expect(outcome).toEqual({ kind: 'finished', progress: { status: 'COMPLETED', moved: 5, toMove: 5 }, elapsedMs: 3000 });
});

test('refuses on the activity\'s word unless forced', async () => {
  const input = {
    sqs: new SQSClient({}),
    deadLetterQueue: dlq,
    source,
    activity: busy,
    clock: new FakeClock(0),
    pollIntervalMs: 1000,
    timeoutMs: 60_000,
  };
  const refused = inMemoryMover(5);
  await expect(redriveDeadLetters({ ...input, mover: refused, force: false })).rejects.toThrow(
    'refusing to redrive surge-prod-order-placed-dlq: it is still receiving failures (depth 3 -> 9)',
  );
  expect(refused.started).toEqual([]);
  const forced = inMemoryMover(5);
  await expect(redriveDeadLetters({ ...input, mover: forced, force: true })).resolves.toMatchObject({ kind: 'finished' });
  expect(forced.started).toHaveLength(1);
});
