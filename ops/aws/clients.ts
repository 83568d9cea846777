// The AWS SDK clients the tools use, built once per run. Building a client does no network I/O and
// reads no credentials; those happen on the first send.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { RDSClient } from '@aws-sdk/client-rds';
import { SQSClient } from '@aws-sdk/client-sqs';
import { WAFV2Client } from '@aws-sdk/client-wafv2';

export interface AwsClients {
  /** CloudFormation in `region`; stacks live in the app's region and, for WAF, in us-east-1. */
  cloudFormationIn(region: string): CloudFormationClient;
  readonly elastiCache: ElastiCacheClient;
  readonly rds: RDSClient;
  readonly sqs: SQSClient;
  readonly autoScaling: AutoScalingClient;
  readonly cloudWatch: CloudWatchClient;
  readonly cloudFront: CloudFrontClient;
  /** WAFv2 in us-east-1, where CLOUDFRONT-scope web ACLs live. */
  readonly wafGlobal: WAFV2Client;
}

/** CloudFront and CLOUDFRONT-scope WAF are global services served from us-east-1. */
const GLOBAL_REGION = 'us-east-1';

/**
 * @param region the app stack's region.
 */
export function createAwsClients(region: string): AwsClients {
  const regional = { region };
  const cloudFormation = new Map<string, CloudFormationClient>();
  return {
    cloudFormationIn(stackRegion) {
      if (!cloudFormation.has(stackRegion)) cloudFormation.set(stackRegion, new CloudFormationClient({ region: stackRegion }));
      return cloudFormation.get(stackRegion)!;
    },
    elastiCache: new ElastiCacheClient(regional),
    rds: new RDSClient(regional),
    sqs: new SQSClient(regional),
    autoScaling: new AutoScalingClient(regional),
    cloudWatch: new CloudWatchClient(regional),
    cloudFront: new CloudFrontClient({ region: GLOBAL_REGION }),
    wafGlobal: new WAFV2Client({ region: GLOBAL_REGION }),
  };
}
