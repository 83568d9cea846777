// Is a dead-letter queue still receiving failures? Redriving into a consumer that still fails only
// sends the messages round again, so the redrive refuses while it is.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { readMetricSeries } from '../aws/metrics';
import type { QueueRef } from '../aws/queue-attributes';
import type { Clock } from '../clock';

export interface FailureTrend {
  readonly receiving: boolean;
  /** The evidence, for the operator: e.g. `visible messages rose from 3 to 17 in the last 15 min`. */
  readonly detail: string;
}

/** The question the redrive asks; on AWS CloudWatch answers it, locally queue samples can. */
export interface DeadLetterActivity {
  recentFailures(deadLetterQueue: QueueRef): Promise<FailureTrend>;
}

/**
 * Reads the DLQ's ApproximateNumberOfMessagesVisible per minute over the window: any rise means
 * new failures arrived. (NumberOfMessagesSent would miss them: messages SQS moves to a DLQ after
 * maxReceiveCount are not counted as sent.)
 */
export function cloudWatchDeadLetterActivity(cloudWatch: CloudWatchClient, clock: Clock, windowMinutes: number): DeadLetterActivity {
  return {
    async recentFailures(deadLetterQueue) {
      const series = await readMetricSeries(
        cloudWatch,
        [
          {
            key: 'visible',
            namespace: 'AWS/SQS',
            metricName: 'ApproximateNumberOfMessagesVisible',
            dimensions: { QueueName: deadLetterQueue.name },
            stat: 'Maximum',
          },
        ],
        { end: clock.now(), minutes: windowMinutes },
      );
      const values = (series.get('visible') ?? []).map((p) => p.value);
      if (values.length === 0) {
        return { receiving: false, detail: `no ApproximateNumberOfMessagesVisible datapoints in the last ${windowMinutes} min` };
      }
      const rose = values.some((value, i) => i > 0 && value > values[i - 1]);
      const span = `${values[0]} to ${values[values.length - 1]} (peak ${Math.max(...values)})`;
      return rose
        ? { receiving: true, detail: `visible messages rose from ${span} in the last ${windowMinutes} min` }
        : { receiving: false, detail: `visible messages did not rise in the last ${windowMinutes} min: ${span}` };
    },
  };
}
