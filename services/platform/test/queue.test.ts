// The queue worker against fauxqs (SQS emulator in a child process): delete on success, redelivery
// and DLQ on failure, visibility extended for slow handlers, handler timeout, and a stop that waits
// for the message in hand.
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import pino from 'pino';
import { startQueueWorker, type Message, type QueueWorker } from '../queue';
import { startSqsEmulator, type SqsEmulator } from '../testing';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sqs: SqsEmulator;
beforeAll(async () => {
  sqs = await startSqsEmulator();
});
afterAll(async () => {
  await sqs?.stop();
});

const workers: QueueWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

function worker(queueUrl: string, handle: (m: Message, signal: AbortSignal) => Promise<void>, extra: Partial<Parameters<typeof startQueueWorker>[0]> = {}) {
  const w = startQueueWorker({ sqs: sqs.sqs, queueUrl, handle, handlerTimeoutMs: 5000, logger, waitTimeSeconds: 1, retryDelaySeconds: 0, ...extra });
  workers.push(w);
  return w;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

async function messagesIn(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
}

const send = (queueUrl: string, body: string) => sqs.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

it('handles a message and deletes it', async () => {
  const { queueUrl } = await sqs.createQueue('q-ok');
  const seen: string[] = [];
  worker(queueUrl, async (m) => void seen.push(m.Body!));
  await send(queueUrl, 'hello');
  await waitFor(() => seen.length === 1);
  await waitFor(async () => (await messagesIn(queueUrl)) === 0);
  expect(seen).toEqual(['hello']);
});

it('leaves a failing message for redelivery until it lands in the DLQ', async () => {
  const { queueUrl, dlqUrl } = await sqs.createQueue('q-poison', { dlq: true, maxReceiveCount: 3 });
  let attempts = 0;
  worker(queueUrl, async () => {
    attempts += 1;
    throw new Error('cannot handle this');
  });
  await send(queueUrl, 'poison');
  await waitFor(async () => (await messagesIn(dlqUrl!)) === 1);
  expect(attempts).toBe(3);
  const dead = await sqs.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 0 }));
  expect(dead.Messages?.[0]?.Body).toBe('poison');
});

it('extends visibility while a slow handler runs, so no other consumer gets the message', async () => {
  const { queueUrl } = await sqs.createQueue('q-slow');
  const handled: string[] = [];
  const slow = async (m: Message) => {
    handled.push(m.MessageId!);
    await sleep(3500);
  };
  worker(queueUrl, slow, { visibilityTimeoutSeconds: 1 });
  worker(queueUrl, slow, { visibilityTimeoutSeconds: 1 });
  await send(queueUrl, 'slow');
  await waitFor(() => handled.length === 1);
  await waitFor(async () => (await messagesIn(queueUrl)) === 0);
  expect(handled).toHaveLength(1);
}, 15000);

it('counts a handler that outlives its timeout as failed and the message comes back', async () => {
  const { queueUrl } = await sqs.createQueue('q-timeout');
  let calls = 0;
  const signals: AbortSignal[] = [];
  worker(
    queueUrl,
    async (_m, signal) => {
      calls += 1;
      signals.push(signal);
      if (calls === 1) await sleep(2000);
    },
    { handlerTimeoutMs: 300 },
  );
  await send(queueUrl, 'late');
  await waitFor(() => calls === 2);
  await waitFor(async () => (await messagesIn(queueUrl)) === 0);
  expect(signals[0].aborted).toBe(true);
});

it('stop() stops polling at once but lets the message in hand finish', async () => {
  const { queueUrl } = await sqs.createQueue('q-stop');
  let started = false;
  let finished = false;
  const w = startQueueWorker({
    sqs: sqs.sqs,
    queueUrl,
    handlerTimeoutMs: 5000,
    logger,
    waitTimeSeconds: 20,
    handle: async () => {
      started = true;
      await sleep(700);
      finished = true;
    },
  });
  await send(queueUrl, 'in-hand');
  await waitFor(() => started);
  const t0 = Date.now();
  await w.stop();
  expect(finished).toBe(true);
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(await messagesIn(queueUrl)).toBe(0);

  // An idle worker in a 20 s long poll stops immediately.
  const idle = startQueueWorker({ sqs: sqs.sqs, queueUrl, handlerTimeoutMs: 5000, logger, waitTimeSeconds: 20, handle: async () => undefined });
  await sleep(200);
  const t1 = Date.now();
  await idle.stop();
  expect(Date.now() - t1).toBeLessThan(500);
});
