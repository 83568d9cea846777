// Scaling rules a fleet adds to its Auto Scaling group beyond CPU and request-count tracking:
// queue backlog per instance (metric math) for the worker fleet, and scheduled pre-warm / release
// actions for planned sale events.
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** A planned sale, as a fleet schedules it. */
export interface SaleWindow {
  /** Letters, digits and hyphens; used in construct IDs. */
  readonly name: string;
  /** When the sale starts. */
  readonly start: Date;
  /** When the sale ends; the fleet's minimum returns to its baseline then. */
  readonly end: Date;
  /** Minimum instances from `start - prewarm` until `end`. */
  readonly minCapacity: number;
  /** How long before `start` the fleet scales up, so instances are warm when traffic arrives. */
  readonly prewarmMinutes: number;
}

/**
 * Target tracking on visible messages (summed over `queues`) per in-service instance, the
 * backlog-per-instance pattern from the EC2 Auto Scaling guide. The group must publish the
 * GroupInServiceInstances metric and keep at least one instance (the division needs it).
 */
export function scaleOnQueueBacklog(
  scope: Construct,
  group: autoscaling.AutoScalingGroup,
  queues: readonly sqs.IQueue[],
  backlogPerInstance: number,
): autoscaling.CfnScalingPolicy {
  if (queues.length === 0) throw new Error('scaleOnQueueBacklog: at least one queue is required');
  const queueQueries = queues.map((queue, i) => ({
    id: `queue${i}`,
    metricStat: {
      metric: {
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: [{ name: 'QueueName', value: queue.queueName }],
      },
      stat: 'Sum',
    },
    returnData: false,
  }));
  return new autoscaling.CfnScalingPolicy(scope, 'BacklogPerInstanceScaling', {
    autoScalingGroupName: group.autoScalingGroupName,
    policyType: 'TargetTrackingScaling',
    targetTrackingConfiguration: {
      targetValue: backlogPerInstance,
      customizedMetricSpecification: {
        metrics: [
          ...queueQueries,
          {
            id: 'inService',
            metricStat: {
              metric: {
                namespace: 'AWS/AutoScaling',
                metricName: 'GroupInServiceInstances',
                dimensions: [{ name: 'AutoScalingGroupName', value: group.autoScalingGroupName }],
              },
              stat: 'Average',
            },
            returnData: false,
          },
          {
            id: 'backlogPerInstance',
            expression: `(${queueQueries.map((q) => q.id).join(' + ')}) / inService`,
            label: 'Visible messages per in-service instance',
            returnData: true,
          },
        ],
      },
    },
  });
}

/** AWS wants scheduled action times as YYYY-MM-DDThh:mm:ssZ. */
function scheduleTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One-time scheduled actions per sale: raise the group's minimum before the sale (pre-warm) and
 * return it to `baselineMinCapacity` at the end (release); target tracking handles the rest.
 */
export function scheduleSaleWindows(
  scope: Construct,
  group: autoscaling.AutoScalingGroup,
  windows: readonly SaleWindow[],
  baselineMinCapacity: number,
): void {
  for (const window of windows) {
    const prewarmAt = new Date(window.start.getTime() - window.prewarmMinutes * 60_000);
    new autoscaling.CfnScheduledAction(scope, `${window.name}Prewarm`, {
      autoScalingGroupName: group.autoScalingGroupName,
      startTime: scheduleTime(prewarmAt),
      minSize: window.minCapacity,
    });
    new autoscaling.CfnScheduledAction(scope, `${window.name}Release`, {
      autoScalingGroupName: group.autoScalingGroupName,
      startTime: scheduleTime(window.end),
      minSize: baselineMinCapacity,
    });
  }
}
