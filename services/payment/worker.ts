// Queue entry point of the payment service, run on the worker fleet: consumes `order-placed`,
// charges each order exactly once (chargeOrder), and relays the resulting `payment-result` events
// from the outbox to SQS. Without a real provider it uses the sandbox, which DECLINES amounts whose
// cents end in 13 (e.g. 12.13 USD) and approves everything else (see sandbox-provider.ts).
import type { ServiceContext } from '../platform/context';
import { startQueueWorker, type QueueWorkerOptions } from '../platform/queue';
import { ORDER_PLACED, OrderPlacedEvent, parseEvent } from '../order/events';
import { startOutboxRelay } from '../order/outbox';
import { PAYMENT_RESULT } from './events';
import type { PaymentProvider } from './provider';
import { createSandboxProvider } from './sandbox-provider';
import { chargeOrder } from './use-cases/charge-order';

export interface PaymentWorkerOptions {
  /** The card processor. @default the sandbox provider with `config.payment.sandboxLatencyMs` */
  readonly provider?: PaymentProvider;
  /** Queue polling knobs (tests shorten them). @default the queue worker's defaults */
  readonly queue?: Pick<QueueWorkerOptions, 'visibilityTimeoutSeconds' | 'waitTimeSeconds' | 'retryDelaySeconds'>;
  /** Outbox relay pause when idle, in ms. @default 200 */
  readonly relayIdleDelayMs?: number;
}

export function startPaymentWorkers(ctx: ServiceContext, options: PaymentWorkerOptions = {}): { stop(): Promise<void> } {
  const { orderPlacedQueueUrl, paymentResultQueueUrl } = ctx.config.sqs;
  if (!orderPlacedQueueUrl) throw new Error('ORDER_PLACED_QUEUE_URL must be set to run the payment worker');
  if (!paymentResultQueueUrl) throw new Error('PAYMENT_RESULT_QUEUE_URL must be set to run the payment worker');
  const provider =
    options.provider ?? createSandboxProvider({ pool: ctx.db.writer, latencyMs: ctx.config.payment.sandboxLatencyMs });

  const consumer = startQueueWorker({
    ...options.queue,
    sqs: ctx.sqs,
    queueUrl: orderPlacedQueueUrl,
    queueName: ORDER_PLACED,
    handlerTimeoutMs: ctx.config.queueHandlerTimeoutMs,
    logger: ctx.logger,
    metrics: ctx.metrics,
    // A malformed message or an unknown provider outcome throws: SQS redelivers, then dead-letters.
    handle: async (message) => {
      const event = parseEvent(OrderPlacedEvent, message.Body);
      const { payment, recorded } = await chargeOrder({ db: ctx.db, provider }, event);
      ctx.logger.info({ orderId: event.orderId, paymentId: payment.id, status: payment.status, recorded }, 'payment: order charged');
    },
  });
  const relay = startOutboxRelay({
    pool: ctx.db.writer,
    sqs: ctx.sqs,
    topic: PAYMENT_RESULT,
    queueUrl: paymentResultQueueUrl,
    logger: ctx.logger,
    idleDelayMs: options.relayIdleDelayMs,
  });

  return {
    async stop() {
      await consumer.stop();
      await relay.stop();
    },
  };
}
