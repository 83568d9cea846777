// SQS: the client (pointed at the emulator when SQS_ENDPOINT is set) and a queue worker loop.
// A small loop instead of sqs-consumer because shutdown must be exact: stop() aborts the long poll
// at once, then waits for the messages in hand to finish (handled and deleted, or left for redrive).
// A handler that throws or outlives `handlerTimeoutMs` leaves its message in the queue, visible again
// after a delay that grows with its receive count (`retryDelaySeconds`), and SQS moves it to the DLQ
// after maxReceiveCount receives. A failure because a dependency is down (the database) also pauses
// polling until the dependency answers: receiving messages only to fail them would spend their
// receives, and an outage longer than the backoff would dead-letter every message in flight.
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
  /**
   * Visibility on receive, extended by this much every third of it while a handler runs: the
   * queue's own visibility timeout (ServiceConfig.queue). @default 60
   */
  visibilityTimeoutSeconds?: number;
  /** Long-poll wait. @default 20 */
  waitTimeSeconds?: number;
  /** After a failure the message is visible again after this backoff. @default retryBackoff(15, 300) */
  retryDelaySeconds?: (receiveCount: number) => number;
  /** Receives before SQS dead-letters a message (the queue's redrive policy), for the logs. @default 5 */
  maxReceiveCount?: number;
  /**
   * A dependency whose outage pauses polling: after a handler fails with an error `isDown` accepts,
   * no message is received until `probe` resolves true (asked every `probeEveryMs`).
   * @default - never pauses
   */
  pauseWhileDown?: { isDown(err: unknown): boolean; probe(): Promise<boolean>; probeEveryMs?: number; name: string };
}

/** SQS's largest visibility timeout, 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** Exponential backoff by receive count: base, 2 x base, 4 x base, ... capped at `maxSeconds`. */
export function retryBackoff(baseSeconds: number, maxSeconds: number): (receiveCount: number) => number {
  return (receiveCount) => Math.min(maxSeconds, MAX_VISIBILITY_SECONDS, baseSeconds * 2 ** Math.max(0, receiveCount - 1));
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
  const visibility = options.visibilityTimeoutSeconds ?? 60;
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const retryDelaySeconds = options.retryDelaySeconds ?? retryBackoff(15, 300);
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const dependency = options.pauseWhileDown;
  const dims = { Queue: queueName };
  const stopping = new AbortController();
  /** Set when a handler failed because the dependency is down; polling waits for it to answer. */
  let dependencyDown = false;

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
      const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
      const retryInSeconds = Math.round(retryDelaySeconds(receiveCount));
      const down = dependency?.isDown(err) ?? false;
      if (down && !dependencyDown) {
        dependencyDown = true;
        logger.error({ err, dependency: dependency!.name }, `${dependency!.name} is down: polling paused until it answers`);
      }
      logger.error(
        { err, messageId: message.MessageId, receiveCount, maxReceiveCount, retryInSeconds },
        receiveCount >= maxReceiveCount
          ? 'message handling failed on its last receive; SQS dead-letters it unless the next receive succeeds'
          : 'message handling failed; it stays in the queue for redelivery',
      );
      await sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: retryInSeconds }))
        .catch((e) => logger.warn({ err: e, messageId: message.MessageId }, 'could not delay the retry; the message returns after the visibility timeout'));
    } finally {
      if (timer) clearTimeout(timer);
      metrics?.timing('MessageLatency', dims, performance.now() - started);
    }
  };

  /** Waits, probing, until the dependency answers again (or stop()). */
  const waitForDependency = async () => {
    const everyMs = dependency!.probeEveryMs ?? 2000;
    while (dependencyDown && !stopping.signal.aborted) {
      await sleep(everyMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      if (stopping.signal.aborted) return;
      if (await dependency!.probe().catch(() => false)) {
        dependencyDown = false;
        logger.info({ dependency: dependency!.name }, `${dependency!.name} answers again: polling resumed`);
      }
    }
  };

  const loop = async () => {
    let backoffMs = 0;
    while (!stopping.signal.aborted) {
      if (dependencyDown) {
        await waitForDependency();
        continue;
      }
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
