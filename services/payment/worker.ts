// Queue entry point of the payment service, run on the worker fleet: consumes the `order-placed`
// queue - charges each placed order exactly once (chargeOrder) and makes sure a cancelled one ends
// with no net charge (cancelPayment) - and relays the resulting `payment-result` events
// from the outbox to SQS. Without a real provider it uses the sandbox, which DECLINES amounts whose
// cents end in 13 (e.g. 12.13 USD) and approves everything else (see sandbox-provider.ts).
import type { ServiceContext } from '../platform/context';
import { ORDER_CANCELLED, ORDER_PLACED, parseOrderEvent, PAYMENT_RESULT } from '../contracts/events';
import { requireQueueUrls, startConsumerAndRelay, type WorkerTuning } from '../platform/messaging/outbox';
import type { PaymentProvider } from './provider';
import { createSandboxProvider } from './sandbox-provider';
import { cancelPayment } from './use-cases/cancel-payment';
import { chargeOrder } from './use-cases/charge-order';

export interface PaymentWorkerOptions extends WorkerTuning {
  /** The card processor. @default the sandbox provider with `config.payment.sandboxLatencyMs` */
  readonly provider?: PaymentProvider;
}

export function startPaymentWorkers(host: ServiceContext, options: PaymentWorkerOptions = {}): { stop(): Promise<void> } {
  // The payment service's tables, through its own role, next to the order worker on the worker fleet.
  const ctx = host.as('payment');
  const { orderPlacedQueueUrl, paymentResultQueueUrl } = requireQueueUrls(ctx, 'payment worker');
  const provider =
    options.provider ?? createSandboxProvider({ pool: ctx.db.writer, latencyMs: ctx.config.payment.sandboxLatencyMs });
  return startConsumerAndRelay(ctx, {
    ...options,
    consume: {
      queueName: ORDER_PLACED,
      queueUrl: orderPlacedQueueUrl,
      // A malformed message or an unknown provider outcome throws: SQS redelivers, then dead-letters.
      handle: async (message) => {
        const event = parseOrderEvent(message.Body);
        if (event.type === ORDER_CANCELLED) {
          const payment = await cancelPayment({ db: ctx.db, provider }, event);
          ctx.logger.info({ orderId: event.orderId, paymentId: payment.id, status: payment.status }, 'payment: order cancelled');
          return;
        }
        const { payment, recorded } = await chargeOrder({ db: ctx.db, provider }, event);
        ctx.logger.info({ orderId: event.orderId, paymentId: payment.id, status: payment.status, recorded }, 'payment: order charged');
      },
    },
    relay: { topic: PAYMENT_RESULT, queueUrl: paymentResultQueueUrl },
  });
}
