// The us-east-1 WAF stack: CLOUDFRONT scope, rate limit from config, managed rule groups, logging.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildSurgeApp } from '../helpers/app';
import { maskAssetHashes } from '../helpers/snapshot';

expect.addSnapshotSerializer(maskAssetHashes);

describe.each(['dev', 'prod'] as const)('Surge-%s-Waf', (envName) => {
  const surge = buildSurgeApp(envName);
  const template = Template.fromStack(surge.wafStack);

  test('matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('lives in us-east-1 whatever the regional stack region is', () => {
    expect(surge.wafStack.region).toBe('us-east-1');
  });

  test('a CLOUDFRONT web ACL with the configured per-IP rate limit and the managed rule groups', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      Rules: Match.arrayWith([
        Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: surge.config.waf.rateLimit, AggregateKeyType: 'IP', EvaluationWindowSec: surge.config.waf.evaluationWindowSeconds }) } }),
      ]),
    });
    const rules = JSON.stringify(template.findResources('AWS::WAFv2::WebACL'));
    for (const group of ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesAmazonIpReputationList']) {
      expect(rules).toContain(group);
    }
  });

  test('WAF logs go to an aws-waf-logs- log group with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `aws-waf-logs-surge-${envName}`, RetentionInDays: surge.config.observability.logRetentionDays });
    template.resourceCountIs('AWS::WAFv2::LoggingConfiguration', 1);
  });

  test('exports the web ACL ARN under the ops tools key', () => {
    expect(Object.keys(template.toJSON().Outputs)).toContain('WebAclArn');
  });
});
