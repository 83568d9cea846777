// SQS readiness: no dead-letter queue holds failed messages, and no main queue has a backlog old
// enough to say its consumers are behind.
import { QueueOutputs, type QueueName } from '../../lib/stack/outputs';
import { queueDepth, totalMessages } from '../aws/queue-attributes';
import { peak, readMetricSeries } from '../aws/metrics';
import { queueNameOf } from '../aws/queue-url';
import { result, type CheckContext, type CheckGroup, type CheckResult } from './check';

const QUEUES = Object.keys(QueueOutputs) as QueueName[];

export const queueChecks: CheckGroup = {
  name: 'queues',
  async run(context: CheckContext): Promise<CheckResult[]> {
    const { clients, expectations, outputs } = context;
    const rows: CheckResult[] = [];
    for (const queue of QUEUES) {
      const dlqUrl = outputs.get(QueueOutputs[queue].dlqUrl);
      const depth = totalMessages(await queueDepth(clients.sqs, dlqUrl));
      rows.push(result(`${queue}-dlq empty`, '0 messages', `${depth} messages`, depth === 0));
    }

    const limit = expectations.queues.maxOldestMessageAgeSeconds;
    const ages = await readMetricSeries(
      clients.cloudWatch,
      QUEUES.map((queue) => ({
        key: queue,
        namespace: 'AWS/SQS',
        metricName: 'ApproximateAgeOfOldestMessage',
        dimensions: { QueueName: queueNameOf(outputs.get(QueueOutputs[queue].queueUrl)) },
        stat: 'Maximum' as const,
      })),
      { end: context.now, minutes: expectations.metricWindowMinutes },
    );
    for (const queue of QUEUES) {
      const points = ages.get(queue) ?? [];
      const latest = points.at(-1);
      // SQS stops publishing metrics for a queue that has been idle for hours: no data means no backlog.
      rows.push(
        latest === undefined
          ? result(`${queue} oldest message`, `< ${limit} s`, 'no datapoints (idle queue)', true)
          : result(
              `${queue} oldest message`,
              `< ${limit} s`,
              `${Math.round(latest.value)} s now, peak ${Math.round(peak(points)!)} s`,
              latest.value < limit,
            ),
      );
    }
    return rows;
  },
};
