// The us-east-1 stack holding the CLOUDFRONT-scope WAF web ACL: WAF only creates web ACLs for
// CloudFront in us-east-1, whatever region the rest of Surge runs in. The regional stack reads the
// ACL's ARN through a cross-region reference.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { SurgeConfig } from '../config';
import { EdgeWebAcl } from '../construct/web-acl';
import { StackOutputs, WAF_STACK_REGION } from './outputs';

export interface SurgeWafStackProps extends StackProps {
  readonly config: SurgeConfig;
}

export class SurgeWafStack extends Stack {
  public readonly webAcl: EdgeWebAcl;

  constructor(scope: Construct, id: string, props: SurgeWafStackProps) {
    super(scope, id, { ...props, env: { account: props.env?.account, region: WAF_STACK_REGION }, crossRegionReferences: true });
    const { config } = props;
    this.webAcl = new EdgeWebAcl(this, 'WebAcl', {
      rateLimit: config.waf.rateLimit,
      evaluationWindow: Duration.seconds(config.waf.evaluationWindowSeconds),
      logRetention: config.observability.logRetentionDays as logs.RetentionDays,
      logGroupName: `aws-waf-logs-surge-${config.envName}`,
      metricPrefix: `surge-${config.envName}`,
    });
    new CfnOutput(this, StackOutputs.webAclArn, { value: this.webAcl.webAclArn, description: 'ARN of the CLOUDFRONT-scope WAF web ACL' });
  }
}
