// A poison message: a payment-result for an order this database does not have (say, written before a
// restore). The order worker throws on it, SQS redelivers it maxReceiveCount times, then dead-letters
// it; the worker's MessagesFailed metric (CloudWatch EMF on stdout) says so. After the fix (the order
// row is back) the redrive moves it to its queue again and it is processed: the order is PAID.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { moveDeadLetters } from '../lib/dead-letters';
import { serviceEnv, startEngines, startServiceProcess } from '../lib/stack';
import { report, waitUntil, type DrillReport } from './common';
import { searchPathOption } from '../../services/platform/ownership';

const MAX_RECEIVE_COUNT = 2;

/** Sum of one EMF metric over the log's lines. */
export function emfMetricSum(log: string, metric: string, dimension?: [string, string]): number {
  let sum = 0;
  for (const line of log.split('\n')) {
    if (!line.includes(`"${metric}"`)) continue;
    try {
      const json = JSON.parse(line) as Record<string, unknown>;
      if (dimension && json[dimension[0]] !== dimension[1]) continue;
      const value = json[metric];
      if (typeof value === 'number') sum += value;
    } catch {
      // not a JSON line
    }
  }
  return sum;
}

export async function poisonMessageDrill(): Promise<DrillReport> {
  const engines = await startEngines({ products: 10, maxReceiveCount: MAX_RECEIVE_COUNT });
  const worker = await startServiceProcess('worker', serviceEnv(engines, { METRICS_FLUSH_MS: '1000' }));
  const client = new pg.Client({ connectionString: engines.databaseUrl, options: searchPathOption() });
  const { sqs, queueUrls } = engines;
  try {
    await client.connect();
    const orderId = randomUUID();
    const event = { type: 'payment-result', orderId, paymentId: randomUUID(), outcome: 'SUCCEEDED', occurredAt: new Date().toISOString() };
    const sentAt = Date.now();
    await sqs.sqs.send(new SendMessageCommand({ QueueUrl: queueUrls.paymentResult, MessageBody: JSON.stringify(event) }));
    const depth = async (url: string) =>
      Number(
        (await sqs.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes
          ?.ApproximateNumberOfMessages ?? 0,
      );
    // Each failed delivery waits out the retry backoff (15 s, then 30 s) before the next one.
    const deadLettered = await waitUntil(async () => (await depth(queueUrls.paymentResultDlq)) === 1, (MAX_RECEIVE_COUNT + 1) * 35_000, 1000);
    const toDlqSeconds = Math.round((Date.now() - sentAt) / 1000);
    await new Promise((r) => setTimeout(r, 1500)); // one more metrics flush
    const failures = emfMetricSum(readFileSync(worker.logFile, 'utf8'), 'MessagesFailed');

    // The fix: the order row is back. Then redrive and see it processed.
    await client.query("INSERT INTO orders (id, user_id, status, total_cents, currency) VALUES ($1, $2, 'PENDING', 1099, 'USD')", [orderId, randomUUID()]);
    const moved = await moveDeadLetters(sqs.sqs, queueUrls.paymentResultDlq, queueUrls.paymentResult);
    const paid = await waitUntil(
      async () => (await client.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId])).rows[0]?.status === 'PAID',
      30_000,
    );
    const dlqAfter = await depth(queueUrls.paymentResultDlq);
    return report(
      'poison-message',
      [
        { what: `dead-lettered after ${MAX_RECEIVE_COUNT} failed deliveries (${toDlqSeconds} s)`, ok: deadLettered },
        { what: `MessagesFailed metric emitted (sum ${failures})`, ok: failures >= MAX_RECEIVE_COUNT },
        { what: `redrive moved it back (${moved}) and the DLQ is empty (${dlqAfter})`, ok: moved === 1 && dlqAfter === 0 },
        { what: 'after the fix the message was processed: order PAID', ok: paid },
      ],
      { 'max receive count': MAX_RECEIVE_COUNT, 'seconds to DLQ': toDlqSeconds, 'worker log': worker.logFile },
    );
  } finally {
    await client.end().catch(() => undefined);
    await worker.stop().catch(() => undefined);
    await engines.stop();
  }
}
