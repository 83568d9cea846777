import '../support/fake-aws-env';
import { GetDistributionCommand } from '@aws-sdk/client-cloudfront';
import { GetWebACLCommand } from '@aws-sdk/client-wafv2';
import { edgeChecks } from '../../checks/edge';
import { firewallChecks, parseWebAclArn } from '../../checks/firewall';
import { awsError, checkContext, HEALTHY_WEB_ACL, mockHealthyStack, mocks } from '../support/stack';

beforeEach(mockHealthyStack);

describe('cloudfront', () => {
  test('a deployed, enabled distribution passes', async () => {
    const rows = await edgeChecks.run(checkContext());
    expect(rows.map((r) => r.verdict)).toEqual(['pass', 'pass']);
    expect(mocks.cloudFront.commandCalls(GetDistributionCommand)[0].args[0].input).toEqual({ Id: 'E2EXAMPLE' });
  });

  test('a distribution still rolling out fails', async () => {
    mocks.cloudFront.on(GetDistributionCommand).resolves({
      Distribution: { Status: 'InProgress', DistributionConfig: { Enabled: true } } as never,
    });
    const rows = await edgeChecks.run(checkContext());
    expect(rows[0]).toMatchObject({ check: 'cloudfront status', verdict: 'fail', found: 'InProgress' });
  });

  test('access denied names cloudfront:GetDistribution', async () => {
    mocks.cloudFront.on(GetDistributionCommand).rejects(awsError('AccessDenied'));
    await expect(edgeChecks.run(checkContext())).rejects.toThrow('missing permission cloudfront:GetDistribution');
  });
});

describe('waf', () => {
  test('the rate rule with the configured limit and window, blocking, passes', async () => {
    const rows = await firewallChecks.run(checkContext());
    expect(rows).toEqual([
      {
        check: 'waf rate rule',
        expected: 'rate-based rule, 3000 per 300 s, Block',
        found: 'RateLimitPerIp: 3000 per 300 s, Block',
        verdict: 'pass',
      },
    ]);
    expect(mocks.waf.commandCalls(GetWebACLCommand)[0].args[0].input).toEqual({
      Name: 'surge-prod-edge',
      Id: 'a1b2c3d4',
      Scope: 'CLOUDFRONT',
    });
  });

  test('a rate rule switched to Count fails', async () => {
    const rules = HEALTHY_WEB_ACL.Rules!.map((r) => (r.Statement?.RateBasedStatement ? { ...r, Action: { Count: {} } } : r));
    mocks.waf.on(GetWebACLCommand).resolves({ WebACL: { ...HEALTHY_WEB_ACL, Rules: rules } });
    const [rate] = await firewallChecks.run(checkContext());
    expect(rate).toMatchObject({ verdict: 'fail', found: 'RateLimitPerIp: 3000 per 300 s, Count' });
  });

  test('a different limit fails', async () => {
    const [rate] = await firewallChecks.run(checkContext({ firewall: { rateLimit: 2000, evaluationWindowSeconds: 300 } }));
    expect(rate).toMatchObject({ verdict: 'fail', expected: 'rate-based rule, 2000 per 300 s, Block' });
  });

  test('a web ACL without a rate-based rule fails', async () => {
    mocks.waf.on(GetWebACLCommand).resolves({ WebACL: { ...HEALTHY_WEB_ACL, Rules: [] } });
    const [rate] = await firewallChecks.run(checkContext());
    expect(rate).toMatchObject({ verdict: 'fail', found: 'no rate-based rule in surge-prod-edge' });
  });

  test('access denied names wafv2:GetWebACL', async () => {
    mocks.waf.on(GetWebACLCommand).rejects(awsError('WAFAccessDeniedException'));
    await expect(firewallChecks.run(checkContext())).rejects.toThrow('missing permission wafv2:GetWebACL');
  });

  test('web ACL ARNs split into name, id and scope; anything else is refused', () => {
    expect(parseWebAclArn('arn:aws:wafv2:us-east-1:111122223333:global/webacl/edge-acl/abc-123')).toEqual({
      scope: 'CLOUDFRONT',
      name: 'edge-acl',
      id: 'abc-123',
    });
    expect(() => parseWebAclArn('arn:aws:sqs:us-east-1:1:queue')).toThrow('not a WAFv2 web ACL ARN');
  });
});
