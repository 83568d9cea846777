// EdgeWebAcl: CLOUDFRONT scope in us-east-1, the per-IP rate rule and its accepted range, the three
// AWS managed rule groups, logging to an `aws-waf-logs-` log group with retention, and cdk-nag.
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { EdgeWebAcl, type EdgeWebAclProps } from '../../lib/construct/web-acl';
import { standaloneStack, unacknowledgedNagFindings } from './standalone-stack';

function build(props: Partial<EdgeWebAclProps> = {}, region = 'us-east-1') {
  const stack = standaloneStack('Waf', region);
  const acl = new EdgeWebAcl(stack, 'WebAcl', { rateLimit: 2000, ...props });
  return { stack, acl, template: () => Template.fromStack(stack) };
}

describe('EdgeWebAcl', () => {
  test('is a CLOUDFRONT-scope web ACL that allows by default', () => {
    build().template().hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: 'Waf-WebAcl' },
    });
  });

  test('blocks an IP over the rate limit first, counted over 5 minutes by default', () => {
    build({ rateLimit: 3000 }).template().hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([
        {
          Name: 'RateLimitPerIp',
          Priority: 0,
          Action: { Block: {} },
          Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 3000, EvaluationWindowSec: 300 } },
          VisibilityConfig: Match.objectLike({ MetricName: 'Waf-RateLimitPerIp' }),
        },
      ]),
    });
    build({ evaluationWindow: Duration.minutes(1) }).template().hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ EvaluationWindowSec: 60 }) } })]),
    });
  });

  test.each([
    ['AWSManagedRulesAmazonIpReputationList', 1],
    ['AWSManagedRulesCommonRuleSet', 2],
    ['AWSManagedRulesKnownBadInputsRuleSet', 3],
  ])('applies the AWS managed rule group %s at priority %d without overriding its actions', (name, priority) => {
    build().template().hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([
        Match.objectLike({
          Priority: priority,
          OverrideAction: { None: {} },
          Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: name } },
        }),
      ]),
    });
  });

  test('has exactly four rules', () => {
    const acls = build().template().findResources('AWS::WAFv2::WebACL');
    expect(Object.values(acls)[0].Properties.Rules).toHaveLength(4);
  });

  test('logs to an aws-waf-logs- log group with retention, by its ARN without the :* suffix', () => {
    const t = build({ logRetention: logs.RetentionDays.ONE_MONTH }).template();
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'aws-waf-logs-Waf', RetentionInDays: 30 });
    t.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      ResourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebAcl'), 'Arn'] },
      LogDestinationConfigs: [
        { 'Fn::Join': ['', ['arn:aws:logs:us-east-1:123456789012:log-group:', { Ref: Match.stringLikeRegexp('WebAclLog') }]] },
      ],
      RedactedFields: [{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'cookie' } }],
    });
    build().template().hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('accepts the edges of WAF\'s rate-limit range', () => {
    expect(() => build({ rateLimit: 10 })).not.toThrow();
    expect(() => build({ rateLimit: 2_000_000_000 })).not.toThrow();
  });

  test.each<[string, Partial<EdgeWebAclProps>, RegExp]>([
    ['a rate limit below what WAF accepts', { rateLimit: 9 }, /rateLimit must be an integer from 10 to 2000000000 .* got 9/],
    ['a rate limit above what WAF accepts', { rateLimit: 2_000_000_001 }, /rateLimit .* got 2000000001/],
    ['a fractional rate limit', { rateLimit: 100.5 }, /rateLimit .* got 100.5/],
    ['an evaluation window WAF does not offer', { evaluationWindow: Duration.minutes(3) }, /evaluationWindow must be 60, 120, 300 or 600 seconds, got 180/],
    ['a fractional evaluation window', { evaluationWindow: Duration.millis(60_500) }, /evaluationWindow .* got 60.5/],
    ['a log group without the aws-waf-logs- prefix', { logGroupName: 'waf-logs' }, /logGroupName must start with 'aws-waf-logs-' .* got 'waf-logs'/],
    ['a log group name over 512 characters', { logGroupName: `aws-waf-logs-${'x'.repeat(500)}` }, /logGroupName must start with 'aws-waf-logs-' and be at most 512 characters/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('refuses to be created outside us-east-1', () => {
    expect(() => build({}, 'eu-west-1')).toThrow(/must be created in us-east-1, but this stack is in eu-west-1/);
  });

  test('reports every invalid prop at once', () => {
    expect(() => build({ rateLimit: 1, logGroupName: 'x' })).toThrow(/rateLimit.*; logGroupName/);
  });

  test('passes cdk-nag AwsSolutions with no unacknowledged errors', () => {
    expect(unacknowledgedNagFindings(build().stack)).toEqual([]);
  });
});
