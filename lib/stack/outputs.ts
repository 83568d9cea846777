// The CloudFormation output keys the sale-day operations tools (ops/) read to find the deployed
// resources. Stacks emit a CfnOutput with exactly these keys; the tools look them up by key, so a
// key here is a contract between lib/ and ops/: rename it on both sides or not at all.
// Dependency-free on purpose: ops/ imports it without loading aws-cdk-lib.

/** Output keys, each holding the value described next to it. */
export const StackOutputs = {
  /** ElastiCache replication group ID (`CfnReplicationGroup.ref`). */
  cacheReplicationGroupId: 'CacheReplicationGroupId',
  /** Aurora cluster identifier (`DatabaseCluster.clusterIdentifier`). */
  databaseClusterIdentifier: 'DatabaseClusterIdentifier',
  /** Queue URLs (`Queue.queueUrl`) of the two event queues and their dead-letter queues. */
  orderPlacedQueueUrl: 'OrderPlacedQueueUrl',
  orderPlacedDlqUrl: 'OrderPlacedDlqUrl',
  paymentResultQueueUrl: 'PaymentResultQueueUrl',
  paymentResultDlqUrl: 'PaymentResultDlqUrl',
  /** Auto Scaling group names (`AutoScalingGroup.autoScalingGroupName`), one per fleet. */
  userFleetAutoScalingGroupName: 'UserFleetAutoScalingGroupName',
  orderFleetAutoScalingGroupName: 'OrderFleetAutoScalingGroupName',
  paymentFleetAutoScalingGroupName: 'PaymentFleetAutoScalingGroupName',
  workerFleetAutoScalingGroupName: 'WorkerFleetAutoScalingGroupName',
  /** The token signing key secret's ARN and the public keys parameter's name (`npm run rotate-token-key`). */
  tokenSigningKeyArn: 'TokenSigningKeyArn',
  tokenPublicKeysParameterName: 'TokenPublicKeysParameterName',
  /** CloudFront distribution ID (`Distribution.distributionId`). */
  distributionId: 'DistributionId',
  /** ARN of the CLOUDFRONT-scope WAFv2 web ACL (`CfnWebACL.attrArn`); emitted by the WAF stack in us-east-1. */
  webAclArn: 'WebAclArn',
} as const;

export type StackOutputKey = (typeof StackOutputs)[keyof typeof StackOutputs];

/** The queues the tools know, by the logical names the services use, with their output keys. */
export const QueueOutputs = {
  'order-placed': { queueUrl: StackOutputs.orderPlacedQueueUrl, dlqUrl: StackOutputs.orderPlacedDlqUrl },
  'payment-result': { queueUrl: StackOutputs.paymentResultQueueUrl, dlqUrl: StackOutputs.paymentResultDlqUrl },
} as const;

/** The fleets the tools know, by name, with the output key of each one's Auto Scaling group. */
export const FleetOutputs = {
  user: StackOutputs.userFleetAutoScalingGroupName,
  order: StackOutputs.orderFleetAutoScalingGroupName,
  payment: StackOutputs.paymentFleetAutoScalingGroupName,
  worker: StackOutputs.workerFleetAutoScalingGroupName,
} as const;

export type QueueName = keyof typeof QueueOutputs;
export type FleetName = keyof typeof FleetOutputs;

/** The regional stack, which emits every output above except WebAclArn. */
export function stackName(envName: string): string {
  return `Surge-${envName}`;
}

/** The us-east-1 stack holding the CLOUDFRONT-scope web ACL; it emits WebAclArn. */
export function wafStackName(envName: string): string {
  return `Surge-${envName}-Waf`;
}

/** CLOUDFRONT-scope WAF resources, and so the WAF stack, always live here. */
export const WAF_STACK_REGION = 'us-east-1';
