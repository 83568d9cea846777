// Transactional outbox: `enqueueEvent` writes an event in the caller's transaction, and an outbox
// relay publishes pending rows of one topic to its SQS queue. Publishing is at-least-once (a crash
// between SendMessageBatch and the commit re-sends the batch), so every consumer is idempotent.
// `startConsumerAndRelay` is how the order and payment workers run: one queue consumer plus the relay
// of the service's own outbox topic.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { ServiceContext } from '../platform/context';
import { isDatabaseUnavailable, withTransaction, type Queryable } from '../platform/db';
import { retryBackoff, startQueueWorker, type QueueWorkerOptions } from '../platform/queue';

const SEND_TIMEOUT_MS = 10_000;

/** Adds an event to the outbox; call it inside the transaction that makes the event true. */
export async function enqueueEvent(tx: Queryable, topic: string, payload: object): Promise<void> {
  await tx.query('INSERT INTO outbox (topic, payload) VALUES ($1, $2)', [topic, JSON.stringify(payload)]);
}

export interface OutboxRelayOptions {
  /** Writer pool; the relay locks rows it publishes. */
  readonly pool: Pool;
  readonly sqs: SQSClient;
  /** Outbox topic this relay publishes, e.g. `order-placed`. */
  readonly topic: string;
  readonly queueUrl: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Rows per SendMessageBatch (SQS allows at most 10). @default 10 */
  readonly batchSize?: number;
  /** Pause between polls when the outbox had nothing left to send, in ms. @default 200 */
  readonly idleDelayMs?: number;
  /** Longest pause after consecutive failures (SQS or the database down), in ms. @default 10000 */
  readonly maxBackoffMs?: number;
}

/**
 * Publishes one batch of pending rows and marks the ones SQS accepted as sent, all while holding the
 * rows with FOR UPDATE SKIP LOCKED so parallel relays (one per worker instance) never send the same row
 * at the same time. Returns how many rows were sent.
 */
export async function relayOutboxBatch(opts: OutboxRelayOptions): Promise<number> {
  const batchSize = Math.min(opts.batchSize ?? 10, 10);
  return withTransaction(opts.pool, async (tx) => {
    const pending = await tx.query<{ id: string; payload: unknown }>(
      `SELECT id, payload FROM outbox
        WHERE topic = $1 AND sent_at IS NULL
        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [opts.topic, batchSize],
    );
    if (pending.rows.length === 0) return 0;

    // Bounded, because the rows stay locked (and a connection busy) until SQS answers.
    const result = await opts.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: pending.rows.map((row) => ({ Id: row.id, MessageBody: JSON.stringify(row.payload) })),
      }),
      { abortSignal: AbortSignal.timeout(SEND_TIMEOUT_MS) },
    );
    const sentIds = (result.Successful ?? []).map((entry) => entry.Id);
    const failedIds = (result.Failed ?? []).map((entry) => entry.Id);
    await tx.query('UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])', [sentIds]);
    if (failedIds.length > 0) {
      // Left pending: the next poll retries them.
      await tx.query('UPDATE outbox SET attempts = attempts + 1 WHERE id = ANY($1::bigint[])', [failedIds]);
      opts.logger.warn({ topic: opts.topic, failed: result.Failed }, 'outbox: SQS rejected some entries');
    }
    return sentIds.length;
  });
}

/** Runs `relayOutboxBatch` in a loop until stopped, backing off while SQS or the database is down. */
export function startOutboxRelay(opts: OutboxRelayOptions): { stop(): Promise<void> } {
  const batchSize = Math.min(opts.batchSize ?? 10, 10);
  const idleDelayMs = opts.idleDelayMs ?? 200;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        const sent = await relayOutboxBatch(opts);
        failures = 0;
        // A short batch means the outbox is drained (or the rest is another relay's): wait for more.
        if (sent < batchSize) await pause(idleDelayMs);
      } catch (err) {
        failures += 1;
        const backoff = Math.min(maxBackoffMs, idleDelayMs * 2 ** failures);
        opts.logger.error({ err, topic: opts.topic, retryInMs: backoff }, 'outbox: relay failed; events stay pending');
        await pause(backoff);
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

/** Knobs of a service's worker that tests shorten. */
export interface WorkerTuning {
  /** Queue polling knobs. @default the service configuration's (ServiceConfig.queue), a 20 s long poll */
  readonly queue?: Pick<QueueWorkerOptions, 'visibilityTimeoutSeconds' | 'waitTimeSeconds' | 'retryDelaySeconds'>;
  /** How often a paused consumer asks whether the database answers again, in ms. @default 2000 */
  readonly databaseProbeMs?: number;
  /** Outbox relay pause when idle, in ms. @default 200 */
  readonly relayIdleDelayMs?: number;
}

/** Both queue URLs, which every worker needs (it consumes one queue and relays to the other). */
export function requireQueueUrls(ctx: ServiceContext, worker: string): { orderPlacedQueueUrl: string; paymentResultQueueUrl: string } {
  const { orderPlacedQueueUrl, paymentResultQueueUrl } = ctx.config.sqs;
  if (!orderPlacedQueueUrl) throw new Error(`ORDER_PLACED_QUEUE_URL must be set to run the ${worker}`);
  if (!paymentResultQueueUrl) throw new Error(`PAYMENT_RESULT_QUEUE_URL must be set to run the ${worker}`);
  return { orderPlacedQueueUrl, paymentResultQueueUrl };
}

/** A service's worker: consumes one queue with `handle` and relays its own outbox topic; stop() stops the consumer first. */
export function startConsumerAndRelay(
  ctx: ServiceContext,
  worker: WorkerTuning & {
    consume: { queueName: string; queueUrl: string; handle: QueueWorkerOptions['handle'] };
    relay: { topic: string; queueUrl: string };
  },
): { stop(): Promise<void> } {
  const queue = ctx.config.queue;
  const consumer = startQueueWorker({
    visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds,
    maxReceiveCount: queue.maxReceiveCount,
    retryDelaySeconds: retryBackoff(queue.retryBaseSeconds, queue.retryMaxSeconds),
    ...worker.queue,
    ...worker.consume,
    sqs: ctx.sqs,
    handlerTimeoutMs: ctx.config.queueHandlerTimeoutMs,
    logger: ctx.logger,
    metrics: ctx.metrics,
    // Every handler needs the writer: while it is down, stop receiving (and spending receives).
    pauseWhileDown: {
      name: 'the database',
      isDown: isDatabaseUnavailable,
      probe: () => ctx.db.writer.query('SELECT 1').then(() => true),
      probeEveryMs: worker.databaseProbeMs,
    },
  });
  const relay = startOutboxRelay({
    ...worker.relay,
    pool: ctx.db.writer,
    sqs: ctx.sqs,
    logger: ctx.logger,
    idleDelayMs: worker.relayIdleDelayMs,
  });
  return {
    async stop() {
      await consumer.stop();
      await relay.stop();
    },
  };
}
