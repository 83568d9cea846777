// The queue worker against fauxqs (SQS emulator in a child process): delete on success, redelivery
// and DLQ on failure, visibility extended for slow handlers, handler timeout, and a stop that waits
// for the message in hand.
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import pino from 'pino';
import { retryBackoff, startQueueWorker, type Message, type QueueWorker } from '../queue';
import { startSqsEmulator, type SqsEmulator } from '../../test-support/testing';

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
  const w = startQueueWorker({ sqs: sqs.sqs, queueUrl, handle, handlerTimeoutMs: 5000, logger, waitTimeSeconds: 1, retryDelaySeconds: () => 0, ...extra });
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
    // Two and a half visibility timeouts: without extension the other consumer would get it twice.
    await sleep(2500);
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
      if (calls === 1) await sleep(1000);
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

it('backs a failing message off by its receive count (ChangeMessageVisibility), doubling up to the cap', async () => {
  const { queueUrl } = await sqs.createQueue('q-backoff', { dlq: true, maxReceiveCount: 10 });
  const receivedAt: number[] = [];
  worker(
    queueUrl,
    async () => {
      receivedAt.push(Date.now());
      if (receivedAt.length < 4) throw new Error('not yet');
    },
    { retryDelaySeconds: retryBackoff(1, 2) },
  );
  await send(queueUrl, 'later');
  await waitFor(() => receivedAt.length === 4, 12_000);
  const gaps = receivedAt.slice(1).map((t, i) => t - receivedAt[i]);
  // 1 s after the first receive, 2 s after the second, 2 s (the cap) after the third; a poll may add up to 1 s.
  expect(gaps[0]).toBeGreaterThanOrEqual(900);
  expect(gaps[0]).toBeLessThan(1900);
  expect(gaps[1]).toBeGreaterThanOrEqual(1900);
  expect(gaps[2]).toBeGreaterThanOrEqual(1900);
  expect(gaps[2]).toBeLessThan(3500);
}, 20_000);

it('retryBackoff doubles from the base and stops at the cap (and at SQS\'s 12 hours)', () => {
  expect([1, 2, 3, 4, 5, 6].map(retryBackoff(15, 300))).toEqual([15, 30, 60, 120, 240, 300]);
  expect(retryBackoff(3600, 86400)(10)).toBe(43200);
  expect(retryBackoff(0, 0)(3)).toBe(0);
});

it('pauses polling while a dependency is down (receives are not spent) and resumes when it answers', async () => {
  const { queueUrl, dlqUrl } = await sqs.createQueue('q-pause', { dlq: true, maxReceiveCount: 2 });
  let up = false;
  let probes = 0;
  const receives: boolean[] = [];
  worker(
    queueUrl,
    async () => {
      receives.push(up);
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    },
    {
      pauseWhileDown: {
        name: 'the database',
        isDown: (err) => (err as { code?: string }).code === 'ECONNREFUSED',
        probe: async () => {
          probes += 1;
          return up;
        },
        probeEveryMs: 100,
      },
    },
  );
  await send(queueUrl, 'one');
  await send(queueUrl, 'two');
  await waitFor(() => receives.length >= 1);
  // Retries are immediate here (retryDelaySeconds 0), yet nothing is received while the probe says down.
  await sleep(1500);
  expect(receives.filter((wasUp) => !wasUp).length).toBeLessThanOrEqual(2);
  expect(probes).toBeGreaterThan(5);
  up = true;
  await waitFor(async () => (await messagesIn(queueUrl)) === 0);
  expect(receives.filter((wasUp) => wasUp)).toHaveLength(2);
  expect(await messagesIn(dlqUrl!)).toBe(0);
}, 15_000);
