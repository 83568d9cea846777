// Queue entry points of the order service, run on the worker fleet: the relay that publishes
// `order-placed` events from the outbox to SQS, and the consumer of `payment-result` that settles
// orders (applyPaymentResult).
import type { ServiceContext } from '../platform/context';
import { startQueueWorker, type QueueWorkerOptions } from '../platform/queue';
import { PAYMENT_RESULT, PaymentResultEvent } from '../payment/events';
import { ORDER_PLACED, parseEvent } from './events';
import { startOutboxRelay } from './outbox';
import { applyPaymentResult } from './use-cases/apply-payment-result';

export interface OrderWorkerOptions {
  /** Queue polling knobs (tests shorten them). @default the queue worker's defaults */
  readonly queue?: Pick<QueueWorkerOptions, 'visibilityTimeoutSeconds' | 'waitTimeSeconds' | 'retryDelaySeconds'>;
  /** Outbox relay pause when idle, in ms. @default 200 */
  readonly relayIdleDelayMs?: number;
}

export function startOrderWorkers(ctx: ServiceContext, options: OrderWorkerOptions = {}): { stop(): Promise<void> } {
  const { orderPlacedQueueUrl, paymentResultQueueUrl } = ctx.config.sqs;
  if (!orderPlacedQueueUrl) throw new Error('ORDER_PLACED_QUEUE_URL must be set to run the order workers');
  if (!paymentResultQueueUrl) throw new Error('PAYMENT_RESULT_QUEUE_URL must be set to run the order workers');

  const relay = startOutboxRelay({
    pool: ctx.db.writer,
    sqs: ctx.sqs,
    topic: ORDER_PLACED,
    queueUrl: orderPlacedQueueUrl,
    logger: ctx.logger,
    idleDelayMs: options.relayIdleDelayMs,
  });
  const consumer = startQueueWorker({
    ...options.queue,
    sqs: ctx.sqs,
    queueUrl: paymentResultQueueUrl,
    queueName: PAYMENT_RESULT,
    handlerTimeoutMs: ctx.config.queueHandlerTimeoutMs,
    logger: ctx.logger,
    metrics: ctx.metrics,
    // A malformed message or an unknown order throws: SQS redelivers, then dead-letters.
    handle: async (message) => {
      const event = parseEvent(PaymentResultEvent, message.Body);
      const outcome = await applyPaymentResult(ctx.db, event);
      ctx.logger.info({ orderId: event.orderId, payment: event.outcome, outcome }, 'order: payment result applied');
    },
  });

  return {
    async stop() {
      await consumer.stop();
      await relay.stop();
    },
  };
}
