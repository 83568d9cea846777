// What the whole-flow tests share: an SQS emulator with the two queues (each with a DLQ), one test
// service with the order and payment routes wired to them, fast queue settings, and polling helpers.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { startSqsEmulator, type SqsEmulator } from '../../test-support/testing';
import { orderRoutes } from '../../order/routes';
import { startTestService, type TestService } from '../../order/test/harness';
import { paymentRoutes } from '../../payment/routes';

// Short polls and immediate retries keep the suites fast; production uses the queue worker defaults.
export const FAST_QUEUE = { waitTimeSeconds: 1, retryDelaySeconds: () => 0, visibilityTimeoutSeconds: 5 };

export interface PaymentFlow {
  emulator: SqsEmulator;
  service: TestService;
  queues: Record<'orderPlaced' | 'paymentResult', { queueUrl: string; dlqUrl?: string }>;
  close(): Promise<void>;
}

export async function startPaymentFlow(): Promise<PaymentFlow> {
  const emulator = await startSqsEmulator();
  const queues = {
    orderPlaced: await emulator.createQueue(`order-placed-${randomUUID()}`, { dlq: true, maxReceiveCount: 2 }),
    paymentResult: await emulator.createQueue(`payment-result-${randomUUID()}`, { dlq: true, maxReceiveCount: 2 }),
  };
  const service = await startTestService([orderRoutes, paymentRoutes], {
    sqsEndpoint: emulator.endpoint,
    queueUrls: { orderPlaced: queues.orderPlaced.queueUrl, paymentResult: queues.paymentResult.queueUrl },
    env: { PAYMENT_SANDBOX_LATENCY_MS: '20' },
  });
  return {
    emulator,
    service,
    queues,
    async close() {
      await service.close();
      await emulator.stop();
    },
  };
}

/** Polls `probe` every 50 ms until `done` holds or the timeout passes; returns the last value. */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** No message waiting and none in flight. */
export async function queueIsDrained(emulator: SqsEmulator, queueUrl: string): Promise<boolean> {
  const { Attributes = {} } = await emulator.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Attributes.ApproximateNumberOfMessages === '0' && Attributes.ApproximateNumberOfMessagesNotVisible === '0';
}
