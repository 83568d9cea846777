// EventQueue: one logical SQS queue (e.g. `order-placed`) with its dead-letter queue, TLS-only
// policies, encryption, a visibility timeout derived from the consumer's handler timeout, and the
// two alarms an operator needs: something was dead-lettered, and consumers are falling behind.
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS accepts visibility timeouts up to 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;
/** SQS accepts retention periods from 60 seconds to 14 days. */
const MIN_RETENTION_SECONDS = 60;
const MAX_RETENTION_SECONDS = 14 * 24 * 60 * 60;
/** SQS accepts maxReceiveCount from 1 to 1000. */
const MAX_RECEIVE_COUNT_LIMIT = 1000;
/** Queue names: letters, digits, hyphens and underscores, at most 80 characters. */
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export interface EventQueueProps {
  /**
   * Logical queue name shared with the services (`order-placed`, `payment-result`). The DLQ is
   * `<name>-dlq`. Physical names are `<queueNamePrefix><name>` and `<queueNamePrefix><name>-dlq`.
   */
  readonly name: string;

  /**
   * Prefix of the physical queue names, so two environments in one account do not collide.
   * @default - the stack name followed by a hyphen (`Surge-dev-Data-order-placed`)
   */
  readonly queueNamePrefix?: string;

  /**
   * How long the consumer's handler may run for one message (the services' `QUEUE_HANDLER_TIMEOUT_MS`).
   * The queue's visibility timeout is derived from it: see `EventQueue.visibilityTimeoutFor`.
   * @default - 30 seconds, the services' default
   */
  readonly handlerTimeout?: Duration;

  /**
   * Receives after which a message that keeps failing moves to the dead-letter queue (1-1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * How long an unconsumed message stays in the main queue (60 s to 14 days).
   * @default - 4 days, the SQS default: long enough to survive a weekend outage of the consumers
   */
  readonly retentionPeriod?: Duration;

  /**
   * Age of the oldest message above which the backlog alarm fires (consumers are stuck or too few).
   * @default - 5 minutes
   */
  readonly oldestMessageAlarmAge?: Duration;

  /**
   * Customer managed KMS key for server-side encryption of both queues.
   * @default - SSE-SQS (SQS-owned keys): encrypted at rest at no extra cost, and producers and
   *   consumers need no KMS permissions
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A standard SQS queue plus its dead-letter queue.
 *
 * Visibility timeout = 2 x handler timeout (at least 30 s). One handler timeout covers a message
 * that runs to its timeout; the second covers the delete/ack call, a slow visibility-extension
 * heartbeat and clock skew, so a message still being processed is never handed to a second
 * consumer. It stays short enough that a message held by a crashed worker is retried within about
 * a minute at the default 30 s handler timeout.
 */
export class EventQueue extends Construct {
  /** Visibility timeout the queue uses for a given consumer handler timeout (see the class comment). */
  public static visibilityTimeoutFor(handlerTimeout: Duration): Duration {
    return Duration.seconds(Math.max(30, Math.ceil((2 * handlerTimeout.toMilliseconds()) / 1000)));
  }

  /** Logical name shared with the services (`order-placed`). */
  public readonly name: string;
  /** The queue's visibility timeout; consumers receive with it (the services' QUEUE_VISIBILITY_TIMEOUT_SECONDS). */
  public readonly visibilityTimeout: Duration;
  /** Receives before a message is dead-lettered; consumers log with it (the services' QUEUE_MAX_RECEIVE_COUNT). */
  public readonly maxReceiveCount: number;
  /** The queue producers send to and consumers poll. */
  public readonly queue: sqs.Queue;
  /** Messages that failed `maxReceiveCount` times; redrive them back once the cause is fixed. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Fires when the dead-letter queue holds at least one message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Fires when the oldest message in the main queue is older than `oldestMessageAlarmAge`. */
  public readonly oldestMessageAlarm: cloudwatch.Alarm;
  /** Both alarms, for routing to a notification topic. */
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: EventQueueProps) {
    super(scope, id);
    const handlerTimeout = props.handlerTimeout ?? Duration.seconds(30);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const retentionPeriod = props.retentionPeriod ?? Duration.days(4);
    const oldestMessageAlarmAge = props.oldestMessageAlarmAge ?? Duration.minutes(5);
    const prefix = props.queueNamePrefix ?? `${Stack.of(this).stackName}-`;
    const queueName = `${prefix}${props.name}`;
    const deadLetterQueueName = `${queueName}-dlq`;
    validate(props, { handlerTimeout, maxReceiveCount, retentionPeriod, oldestMessageAlarmAge, deadLetterQueueName });

    this.name = props.name;
    this.visibilityTimeout = EventQueue.visibilityTimeoutFor(handlerTimeout);
    this.maxReceiveCount = maxReceiveCount;
    const encryption = props.encryptionKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED;

    // The DLQ may only receive messages from its own source queue. The source queue's ARN is built
    // from its name because the real reference would be circular (the source names the DLQ too).
    const sourceQueueArn = Stack.of(this).formatArn({ service: 'sqs', resource: queueName });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName,
      // The maximum SQS allows. A standard queue's message keeps its original enqueue time when it is
      // dead-lettered, so this leaves 14 days minus its time in the source queue to inspect it.
      retentionPeriod: Duration.days(14),
      encryption,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      redriveAllowPolicy: {
        redrivePermission: sqs.RedrivePermission.BY_QUEUE,
        sourceQueues: [sqs.Queue.fromQueueArn(this, 'SourceQueueRef', sourceQueueArn)],
      },
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      queueName,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod,
      encryption,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `${props.name}: messages failed ${maxReceiveCount} times and were dead-lettered; inspect ${deadLetterQueueName}, fix, then redrive`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 0,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.oldestMessageAlarm = new cloudwatch.Alarm(this, 'OldestMessageAlarm', {
      alarmDescription: `${props.name}: oldest message older than ${oldestMessageAlarmAge.toMilliseconds() / 1000} s; consumers are stuck or too few`,
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: oldestMessageAlarmAge.toMilliseconds() / 1000,
      // Three minutes in a row, so one slow poll cycle does not page anyone.
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.alarms = [this.deadLetterAlarm, this.oldestMessageAlarm];
  }
}

interface ResolvedQueueProps {
  readonly handlerTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly retentionPeriod: Duration;
  readonly oldestMessageAlarmAge: Duration;
  readonly deadLetterQueueName: string;
}

function validate(props: EventQueueProps, resolved: ResolvedQueueProps): void {
  const problems: string[] = [];
  const { handlerTimeout, maxReceiveCount, retentionPeriod, oldestMessageAlarmAge, deadLetterQueueName } = resolved;
  if (!Token.isUnresolved(props.name) && !/^[A-Za-z0-9_-]+$/.test(props.name)) {
    problems.push(`name must be letters, digits, hyphens or underscores, got '${props.name}'`);
  }
  if (!Token.isUnresolved(deadLetterQueueName) && !QUEUE_NAME.test(deadLetterQueueName)) {
    problems.push(`queue names must be at most 80 letters, digits, hyphens or underscores, got '${deadLetterQueueName}' for the DLQ`);
  }
  if (!handlerTimeout.isUnresolved()) {
    const seconds = handlerTimeout.toMilliseconds() / 1000;
    if (seconds < 1 || 2 * seconds > MAX_VISIBILITY_SECONDS) {
      problems.push(`handlerTimeout must be 1 s to 6 h (the visibility timeout, twice it, is capped at 12 h), got ${seconds} s`);
    }
  }
  if (!Token.isUnresolved(maxReceiveCount) && (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > MAX_RECEIVE_COUNT_LIMIT)) {
    problems.push(`maxReceiveCount must be an integer from 1 to ${MAX_RECEIVE_COUNT_LIMIT}, got ${maxReceiveCount}`);
  }
  if (!retentionPeriod.isUnresolved()) {
    const seconds = retentionPeriod.toMilliseconds() / 1000;
    if (seconds < MIN_RETENTION_SECONDS || seconds > MAX_RETENTION_SECONDS) {
      problems.push(`retentionPeriod must be 60 s to 14 days, got ${seconds} s`);
    }
  }
  if (!oldestMessageAlarmAge.isUnresolved() && oldestMessageAlarmAge.toMilliseconds() < 60_000) {
    problems.push(`oldestMessageAlarmAge must be at least 60 s (the metric's resolution), got ${oldestMessageAlarmAge.toMilliseconds() / 1000} s`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid EventQueue '${props.name}' props: ${problems.join('; ')}`);
  }
}
