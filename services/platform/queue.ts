// SQS: the client (pointed at the emulator when SQS_ENDPOINT is set) and a queue worker loop.
// A small loop instead of sqs-consumer because shutdown must be exact: stop() aborts the long poll
// at once, then waits for the messages in hand to finish (handled and deleted, or left for redrive).
// A handler that throws or outlives `handlerTimeoutMs` leaves its message in the queue: SQS makes it
// visible again after the visibility timeout and moves it to the DLQ after maxReceiveCount receives.
// Handlers must be idempotent: SQS delivers at least once, and a timed-out handler may still finish.
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ServiceConfig } from './config';
import type { Metrics } from './metrics';

export type { Message } from '@aws-sdk/client-sqs';

export function createSqsClient(cfg: Pick<ServiceConfig, 'sqs'>): SQSClient {
  return new SQSClient({
    region: cfg.sqs.region,
    // With an endpoint set the SDK uses it instead of the queue URL's host; the emulator's queue URLs
    // name hosts that do not resolve. The emulator accepts any credentials.
    ...(cfg.sqs.endpoint
      ? { endpoint: cfg.sqs.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}

export interface QueueWorkerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Short name for logs and metrics, e.g. 'order-placed'. @default the queue URL's last segment */
  queueName?: string;
  /** Resolves when the message is done (it is then deleted); throws to leave it for redelivery. */
  handle: (message: Message, signal: AbortSignal) => Promise<void>;
  /** A handler running longer than this counts as failed; keep it under the visibility timeout. */
  handlerTimeoutMs: number;
  logger: Logger;
  metrics?: Metrics;
  /** Messages received (and handled concurrently) per poll, 1-10. @default 10 */
  batchSize?: number;
  /** Visibility on receive, extended by this much every third of it while a handler runs. @default 30 */
  visibilityTimeoutSeconds?: number;
  /** Long-poll wait. @default 20 */
  waitTimeSeconds?: number;
  /** After a failure, make the message visible again after this many seconds instead of the visibility timeout. */
  retryDelaySeconds?: number;
}

export interface QueueWorker {
  /** Stops polling and waits for the messages being handled. */
  stop(): Promise<void>;
}

export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const { sqs, queueUrl, handle, handlerTimeoutMs, metrics } = options;
  const queueName = options.queueName ?? queueUrl.split('/').pop() ?? queueUrl;
  const logger = options.logger.child({ queue: queueName });
  const batchSize = options.batchSize ?? 10;
  const visibility = options.visibilityTimeoutSeconds ?? 30;
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const dims = { Queue: queueName };
  const stopping = new AbortController();

  const extendWhileRunning = (message: Message) => {
    const timer = setInterval(
      () => {
        sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: visibility }))
          .catch((err) => logger.warn({ err, messageId: message.MessageId }, 'could not extend message visibility'));
      },
      Math.max(250, (visibility * 1000) / 3),
    );
    return () => clearInterval(timer);
  };

  const process = async (message: Message) => {
    const started = performance.now();
    const stopExtending = extendWhileRunning(message);
    const timeout = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        handle(message, timeout.signal),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timeout.abort();
            reject(new Error(`handler timed out after ${handlerTimeoutMs} ms`));
          }, handlerTimeoutMs);
        }),
      ]);
      stopExtending();
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      metrics?.count('MessagesProcessed', dims);
    } catch (err) {
      stopExtending();
      metrics?.count('MessagesFailed', dims);
      logger.error(
        { err, messageId: message.MessageId, receiveCount: message.Attributes?.ApproximateReceiveCount },
        'message handling failed; it stays in the queue for redelivery',
      );
      if (options.retryDelaySeconds !== undefined) {
        await sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: options.retryDelaySeconds }))
          .catch(() => undefined);
      }
    } finally {
      if (timer) clearTimeout(timer);
      metrics?.timing('MessageLatency', dims, performance.now() - started);
    }
  };

  const loop = async () => {
    let backoffMs = 0;
    while (!stopping.signal.aborted) {
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            VisibilityTimeout: visibility,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: stopping.signal },
        );
        backoffMs = 0;
        await Promise.all((out.Messages ?? []).map(process));
      } catch (err) {
        if (stopping.signal.aborted) break;
        backoffMs = Math.min(Math.max(backoffMs * 2, 500), 10000);
        logger.error({ err, retryInMs: backoffMs }, 'receiving from the queue failed');
        await sleep(backoffMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  };

  logger.info({ queueUrl }, 'queue worker started');
  const running = loop();
  return {
    async stop() {
      stopping.abort();
      await running;
      logger.info('queue worker stopped');
    },
  };
}
