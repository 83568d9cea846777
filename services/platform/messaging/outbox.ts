// Transactional outbox: `enqueueEvent` writes an event in the caller's transaction, and an outbox
// relay publishes pending rows of one topic to its SQS queue. Publishing is at-least-once (a crash
// between SendMessageBatch and the commit re-sends the batch), so every consumer is idempotent.
// A row SQS refuses for what it is (too large, invalid characters) is retried, then parked after
// OUTBOX_MAX_ATTEMPTS refusals so it no longer holds up the rows behind it (docs/OPS.md says how to
// inspect and re-queue parked rows). Sent rows are deleted after SENT_OUTBOX_RETENTION_SECONDS by the
// worker's upkeep (./upkeep.ts), which also reports parked rows as the OutboxParked metric.
// Each service has its own outbox table in its own schema (order_service.outbox, payment_service.outbox);
// every function here names the service whose outbox it works on, and the table qualified, since both
// are called `outbox`.
// `startConsumerAndRelay` is how the order and payment workers run: one queue consumer, the relay of
// the service's own outbox topic, and the upkeep.
import { SendMessageBatchCommand, type SendMessageBatchResult, type SQSClient } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { ServiceContext } from '../context';
import { isDatabaseUnavailable, withTransaction, type Queryable } from '../db';
import type { Metrics } from '../metrics';
import { schemaOf, type DataOwner } from '../ownership';
import { retryBackoff, startQueueWorker, type QueueWorkerOptions } from '../queue';
import { deleteInBatches, startUpkeep, type UpkeepJob } from './upkeep';

const SEND_TIMEOUT_MS = 10_000;

/** Refusals of a row (for what it is, see MESSAGE_FAULTS) after which the relay parks it. */
export const OUTBOX_MAX_ATTEMPTS = 5;
/** How long a sent row is kept (for looking into what was published) before upkeep deletes it. */
export const SENT_OUTBOX_RETENTION_SECONDS = 24 * 3600;

// Errors by which SQS refuses a message for its content or size: resending it will never work. Any
// other error (throttling, access denied, a missing queue, the network, SQS's own faults) says
// nothing about the row, so it is not held against it: the relay backs off and retries it.
const MESSAGE_FAULTS = new Set(['BatchRequestTooLong', 'InvalidMessageContents', 'InvalidParameterValue', 'MessageTooLong']);

/** `owner`'s outbox table, schema-qualified. */
export function outboxTable(owner: DataOwner): string {
  return `${schemaOf(owner)}.outbox`;
}

/** Adds an event to `owner`'s outbox; call it inside the transaction that makes the event true. */
export async function enqueueEvent(tx: Queryable, owner: DataOwner, topic: string, payload: object): Promise<void> {
  await tx.query(`INSERT INTO ${outboxTable(owner)} (topic, payload) VALUES ($1, $2)`, [topic, JSON.stringify(payload)]);
}

export interface OutboxRelayOptions {
  /** Writer pool; the relay locks rows it publishes. */
  readonly pool: Pool;
  /** The service whose outbox table holds the topic's rows. */
  readonly outbox: DataOwner;
  readonly sqs: SQSClient;
  /** Outbox topic this relay publishes, e.g. `order-placed`. */
  readonly topic: string;
  readonly queueUrl: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Where rows parked by this relay are counted (OutboxRowsParked). @default - not counted */
  readonly metrics?: Pick<Metrics, 'count'>;
  /** Rows per SendMessageBatch (SQS allows at most 10). @default 10 */
  readonly batchSize?: number;
  /** Refusals after which a row is parked. @default OUTBOX_MAX_ATTEMPTS (5) */
  readonly maxAttempts?: number;
  /** Pause between polls when the outbox had nothing left to send, in ms. @default 200 */
  readonly idleDelayMs?: number;
  /** Longest pause after consecutive failures (SQS or the database down), in ms. @default 10000 */
  readonly maxBackoffMs?: number;
}

interface Row {
  id: string;
  payload: unknown;
}

/** What SQS did with each row sent: accepted, or refused with an error saying why. */
interface SendOutcome {
  sent: string[];
  refused: Array<{ id: string; error: string }>;
}

/**
 * Sends rows with one SendMessageBatch. Entries SQS refuses as the sender's fault are returned as
 * refused (other per-entry failures stay pending, unjudged). When SQS refuses the whole batch for a
 * message's content or size (one row over the size limit makes the whole batch too long), each row is
 * sent alone to find which. Any other error is thrown: it is not about the rows.
 */
async function sendRows(opts: OutboxRelayOptions, rows: Row[]): Promise<SendOutcome> {
  let result: SendMessageBatchResult;
  try {
    // Bounded, because the rows stay locked (and a connection busy) until SQS answers.
    result = await opts.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: rows.map((row) => ({ Id: row.id, MessageBody: JSON.stringify(row.payload) })),
      }),
      { abortSignal: AbortSignal.timeout(SEND_TIMEOUT_MS) },
    );
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (!MESSAGE_FAULTS.has(name)) throw err;
    if (rows.length === 1) return { sent: [], refused: [{ id: rows[0].id, error: `${name}: ${(err as Error).message}` }] };
    const alone = [];
    for (const row of rows) alone.push(await sendRows(opts, [row]));
    return { sent: alone.flatMap((o) => o.sent), refused: alone.flatMap((o) => o.refused) };
  }
  const failed = result.Failed ?? [];
  if (failed.length > 0) opts.logger.warn({ topic: opts.topic, failed }, 'outbox: SQS rejected some entries');
  return {
    sent: (result.Successful ?? []).map((entry) => entry.Id!),
    refused: failed.filter((entry) => entry.SenderFault).map((entry) => ({ id: entry.Id!, error: `${entry.Code}: ${entry.Message ?? ''}` })),
  };
}

/**
 * Publishes one batch of pending rows and marks the ones SQS accepted as sent, all while holding the
 * rows with FOR UPDATE SKIP LOCKED so parallel relays (one per worker instance) never send the same row
 * at the same time. A refused row has its attempt counted and is parked at `maxAttempts`; parked rows
 * are never selected again. Returns how many rows were sent.
 */
export async function relayOutboxBatch(opts: OutboxRelayOptions): Promise<number> {
  const batchSize = Math.min(opts.batchSize ?? 10, 10);
  const maxAttempts = opts.maxAttempts ?? OUTBOX_MAX_ATTEMPTS;
  const outbox = outboxTable(opts.outbox);
  return withTransaction(opts.pool, async (tx) => {
    const pending = await tx.query<Row>(
      `SELECT id, payload FROM ${outbox}
        WHERE topic = $1 AND sent_at IS NULL AND parked_at IS NULL
        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [opts.topic, batchSize],
    );
    if (pending.rows.length === 0) return 0;

    const { sent, refused } = await sendRows(opts, pending.rows);
    await tx.query(`UPDATE ${outbox} SET sent_at = now() WHERE id = ANY($1::bigint[])`, [sent]);
    if (refused.length > 0) {
      // Left pending (the next poll retries them) until parked.
      const { rows: judged } = await tx.query<{ id: string; attempts: number; parked: boolean; lastError: string }>(
        `UPDATE ${outbox} o SET attempts = o.attempts + 1, last_error = r.error,
                parked_at = CASE WHEN o.attempts + 1 >= $3 THEN now() END
           FROM unnest($1::bigint[], $2::text[]) AS r(id, error)
          WHERE o.id = r.id
         RETURNING o.id, o.attempts, o.parked_at IS NOT NULL AS parked, o.last_error AS "lastError"`,
        [refused.map((r) => r.id), refused.map((r) => r.error), maxAttempts],
      );
      const parked = judged.filter((row) => row.parked).map(({ id, attempts, lastError }) => ({ id, attempts, lastError }));
      if (parked.length > 0) {
        opts.metrics?.count('OutboxRowsParked', { Topic: opts.topic }, parked.length);
        opts.logger.error({ topic: opts.topic, parked }, 'outbox: rows parked after repeated refusals; see docs/OPS.md');
      }
    }
    return sent.length;
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

/**
 * Deletes up to `limit` rows of `topic` sent more than `olderThanSeconds` ago, oldest first (index
 * outbox_sent); rows another instance is deleting are skipped. Returns how many it deleted.
 */
export async function deleteSentOutboxRows(db: Queryable, owner: DataOwner, topic: string, olderThanSeconds: number, limit: number): Promise<number> {
  const outbox = outboxTable(owner);
  const { rowCount } = await db.query(
    `DELETE FROM ${outbox} WHERE id IN (
       SELECT id FROM ${outbox}
        WHERE topic = $1 AND sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $2)
        ORDER BY sent_at LIMIT $3 FOR UPDATE SKIP LOCKED)`,
    [topic, olderThanSeconds, limit],
  );
  return rowCount ?? 0;
}

/** Rows of `topic` parked now (index outbox_parked). */
export async function countParkedOutboxRows(db: Queryable, owner: DataOwner, topic: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${outboxTable(owner)} WHERE topic = $1 AND parked_at IS NOT NULL`, [topic]);
  return rows[0].n;
}

/**
 * The upkeep of one topic's outbox rows: deletes its sent rows past retention, and reports how many of
 * its rows are parked as the OutboxParked metric (every pass, 0 included: an alarm watches it; each
 * instance reports the same total, so its Maximum is the number parked).
 */
export function outboxUpkeepJobs(opts: {
  pool: Pool;
  outbox: DataOwner;
  topic: string;
  metrics: Pick<Metrics, 'count'>;
  /** @default SENT_OUTBOX_RETENTION_SECONDS (24 hours) */
  sentRetentionSeconds?: number;
}): UpkeepJob[] {
  const retention = opts.sentRetentionSeconds ?? SENT_OUTBOX_RETENTION_SECONDS;
  const dimensions = { Topic: opts.topic };
  return [
    {
      name: `delete sent ${opts.topic} outbox rows`,
      run: async () => {
        const deleted = await deleteInBatches((limit) => deleteSentOutboxRows(opts.pool, opts.outbox, opts.topic, retention, limit));
        opts.metrics.count('OutboxRowsDeleted', dimensions, deleted);
      },
    },
    {
      name: `count parked ${opts.topic} outbox rows`,
      run: async () => opts.metrics.count('OutboxParked', dimensions, await countParkedOutboxRows(opts.pool, opts.outbox, opts.topic)),
    },
  ];
}

/** Knobs of a service's worker that tests shorten. */
export interface WorkerTuning {
  /** Queue polling knobs. @default the service configuration's (ServiceConfig.queue), a 20 s long poll */
  readonly queue?: Pick<QueueWorkerOptions, 'visibilityTimeoutSeconds' | 'waitTimeSeconds' | 'retryDelaySeconds'>;
  /** How often a paused consumer asks whether the database answers again, in ms. @default 2000 */
  readonly databaseProbeMs?: number;
  /** Outbox relay pause when idle, in ms. @default 200 */
  readonly relayIdleDelayMs?: number;
  /** Pause between upkeep passes, in ms. @default 60000 */
  readonly upkeepIntervalMs?: number;
}

/** Both queue URLs, which every worker needs (it consumes one queue and relays to the other). */
export function requireQueueUrls(ctx: ServiceContext, worker: string): { orderPlacedQueueUrl: string; paymentResultQueueUrl: string } {
  const { orderPlacedQueueUrl, paymentResultQueueUrl } = ctx.config.sqs;
  if (!orderPlacedQueueUrl) throw new Error(`ORDER_PLACED_QUEUE_URL must be set to run the ${worker}`);
  if (!paymentResultQueueUrl) throw new Error(`PAYMENT_RESULT_QUEUE_URL must be set to run the ${worker}`);
  return { orderPlacedQueueUrl, paymentResultQueueUrl };
}

/**
 * A service's worker: consumes one queue with `handle`, relays its own outbox topic and runs the upkeep
 * of that topic plus the service's own `upkeep` jobs; stop() stops the consumer first. `ctx` is the
 * service's own (`ctx.as(service)`): its pools, and its outbox table.
 */
export function startConsumerAndRelay(
  ctx: ServiceContext,
  worker: WorkerTuning & {
    consume: { queueName: string; queueUrl: string; handle: QueueWorkerOptions['handle'] };
    relay: { topic: string; queueUrl: string };
    /** The service's own upkeep (e.g. deleting expired Idempotency-Keys). @default - the outbox's only */
    upkeep?: UpkeepJob[];
  },
): { stop(): Promise<void> } {
  const owner = ctx.owner;
  if (!owner) throw new Error(`the ${worker.consume.queueName} consumer needs its service's context (ctx.as(service)), not the process's`);
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
    outbox: owner,
    pool: ctx.db.writer,
    sqs: ctx.sqs,
    logger: ctx.logger,
    metrics: ctx.metrics,
    idleDelayMs: worker.relayIdleDelayMs,
  });
  const upkeep = startUpkeep({
    jobs: [...outboxUpkeepJobs({ pool: ctx.db.writer, outbox: owner, topic: worker.relay.topic, metrics: ctx.metrics }), ...(worker.upkeep ?? [])],
    logger: ctx.logger,
    intervalMs: worker.upkeepIntervalMs,
  });
  return {
    async stop() {
      await consumer.stop();
      await relay.stop();
      await upkeep.stop();
    },
  };
}
