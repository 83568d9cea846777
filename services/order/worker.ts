// Queue entry points of the order service, run on the worker fleet: the relay that publishes
// `order-placed` events from the outbox to SQS, the consumer of `payment-result` that settles
// orders (applyPaymentResult), and the upkeep that deletes expired Idempotency-Keys.
import type { ServiceContext } from '../platform/context';
import { ORDER_PLACED, parseEvent, PAYMENT_RESULT, PaymentResultEvent } from '../contracts/events';
import { deleteExpiredIdempotencyKeys, IDEMPOTENCY_KEY_RETENTION_SECONDS } from './data/idempotency-keys';
import { requireQueueUrls, startConsumerAndRelay, type WorkerTuning } from '../platform/messaging/outbox';
import { deleteInBatches } from '../platform/messaging/upkeep';
import { createStockGate } from './stock-gate';
import { applyPaymentResult } from './use-cases/apply-payment-result';

export function startOrderWorkers(host: ServiceContext, options: WorkerTuning = {}): { stop(): Promise<void> } {
  // The order service's tables, through its own role, next to the payment worker on the worker fleet.
  const ctx = host.as('order');
  const { orderPlacedQueueUrl, paymentResultQueueUrl } = requireQueueUrls(ctx, 'order workers');
  // Clears the sold-out markers of units a failed payment puts back, so the order fleet sells them again.
  const gate = createStockGate({
    redis: ctx.redis,
    onRedisError: (err) => ctx.logger.debug({ err }, 'stock gate: marker not cleared in Redis; it expires on its own'),
  });
  return startConsumerAndRelay(ctx, {
    ...options,
    consume: {
      queueName: PAYMENT_RESULT,
      queueUrl: paymentResultQueueUrl,
      // A malformed message or an unknown order throws: SQS redelivers, then dead-letters.
      handle: async (message) => {
        const event = parseEvent(PaymentResultEvent, message.Body);
        const outcome = await applyPaymentResult(ctx.db, event, gate);
        ctx.logger.info({ orderId: event.orderId, payment: event.outcome, outcome }, 'order: payment result applied');
      },
    },
    relay: { topic: ORDER_PLACED, queueUrl: orderPlacedQueueUrl },
    upkeep: [
      {
        name: 'delete expired idempotency keys',
        run: async () => {
          const deleted = await deleteInBatches((limit) =>
            deleteExpiredIdempotencyKeys(ctx.db.writer, IDEMPOTENCY_KEY_RETENTION_SECONDS, limit),
          );
          ctx.metrics.count('IdempotencyKeysDeleted', {}, deleted);
        },
      },
    ],
  });
}
