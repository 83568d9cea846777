// A payment worker in its own process, so worker-crash.test.ts can SIGKILL it in the middle of a
// charge. Settings come from the environment the test passes; prints "ready" once it polls.
import { createTestContext } from '../../test-support/testing';
import { startPaymentWorkers } from '../worker';

async function main(): Promise<void> {
  const ctx = await createTestContext({
    databaseUrl: process.env.DATABASE_URL!,
    sqsEndpoint: process.env.SQS_ENDPOINT,
    queueUrls: { orderPlaced: process.env.ORDER_PLACED_QUEUE_URL, paymentResult: process.env.PAYMENT_RESULT_QUEUE_URL },
    env: { PAYMENT_SANDBOX_LATENCY_MS: process.env.PAYMENT_SANDBOX_LATENCY_MS ?? '3000' },
  });
  startPaymentWorkers(ctx, { queue: { waitTimeSeconds: 1, visibilityTimeoutSeconds: 2 } });
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`payment worker process failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
