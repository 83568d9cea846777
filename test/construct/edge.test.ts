// Edge: the distribution's behaviours (static via OAC, uncached API, briefly cached product reads),
// the secret origin header, viewer and origin TLS with and without a domain, access logging, WAF
// attachment, validation and cdk-nag (with the acknowledgments that apply only without a domain).
import { Duration, SecretValue } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Edge, PRODUCT_QUERY_PARAMETERS, type EdgeProps } from '../../lib/construct/edge';
import { listProductsSchema } from '../../services/order/schemas';
import { standaloneStack, unacknowledgedNagFindings } from './standalone-stack';

const ORIGIN_SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:surge-origin-AbCdEf';
const CERT_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
const WEB_ACL_ARN = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/surge/abcd';

// CloudFront's managed policy IDs (fixed by AWS).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

function build(props: Partial<EdgeProps> = {}, withDomain = false) {
  const stack = standaloneStack('Edge');
  const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/surge/0123456789abcdef',
    securityGroupId: 'sg-0123456789abcdef0',
    loadBalancerDnsName: 'surge-123.us-west-2.elb.amazonaws.com',
  });
  const domain: Partial<EdgeProps> = withDomain
    ? {
        domainNames: ['shop.example.com'],
        certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', CERT_ARN),
        loadBalancerOriginDomainName: 'origin.shop.example.com',
        webAclArn: WEB_ACL_ARN,
      }
    : {};
  const edge = new Edge(stack, 'Edge', {
    loadBalancer,
    originVerifyValue: SecretValue.secretsManager(ORIGIN_SECRET_ARN),
    ...domain,
    ...props,
  });
  return { stack, edge, template: () => Template.fromStack(stack) };
}

/** The distribution's CacheBehaviors entry for `pattern`. */
function behaviour(template: Template, pattern: string): Record<string, unknown> {
  const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
  const found = distribution.Properties.DistributionConfig.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === pattern);
  expect(found).toBeDefined();
  return found;
}

function distributionConfig(template: Template) {
  return Object.values(template.findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig;
}

describe('Edge', () => {
  test('serves the default behaviour from a private S3 bucket through Origin Access Control', () => {
    const t = build().template();
    t.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    t.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    const config = distributionConfig(t);
    const s3Origin = config.Origins.find((o: { Id: string }) => o.Id === config.DefaultCacheBehavior.TargetOriginId);
    expect(s3Origin).toMatchObject({
      DomainName: { 'Fn::GetAtt': [expect.stringMatching(/^EdgeStaticBucket/), 'RegionalDomainName'] },
      OriginAccessControlId: { 'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'] },
    });
    expect(config.DefaultCacheBehavior).toMatchObject({ CachePolicyId: CACHING_OPTIMIZED, ViewerProtocolPolicy: 'redirect-to-https' });
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { LogFilePrefix: 'static-bucket/' },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 's3:GetObject', Principal: { Service: 'cloudfront.amazonaws.com' } }),
        ]),
      },
    });
  });

  test('sends /api/* to the ALB over HTTPS only, caching disabled, all viewer headers forwarded', () => {
    const t = build().template();
    const api = behaviour(t, '/api/*');
    expect(api).toMatchObject({
      CachePolicyId: CACHING_DISABLED,
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    });
    const config = distributionConfig(t);
    const albOrigin = config.Origins.find((o: { Id: string }) => o.Id === api.TargetOriginId);
    expect(albOrigin.DomainName).toBe('surge-123.us-west-2.elb.amazonaws.com');
  });

  test('caches GET /api/products* briefly through a policy that follows the origin Cache-Control', () => {
    const t = build().template();
    const products = behaviour(t, '/api/products*');
    expect(products).toMatchObject({
      CachePolicyId: { Ref: expect.stringMatching(/^EdgeProductCachePolicy/) },
      CachedMethods: ['GET', 'HEAD'],
      ViewerProtocolPolicy: 'https-only',
      TargetOriginId: behaviour(t, '/api/*').TargetOriginId,
    });
    // Listed before /api/*: CloudFront uses the first pattern that matches.
    const patterns = distributionConfig(t).CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern);
    expect(patterns).toEqual(['/api/products*', '/api/waiting-room/*/*', '/api/waiting-room*', '/api/*']);
    // MinTTL 0 lets the origin's max-age decide; DefaultTTL applies only when it sends none.
    t.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        MinTTL: 0,
        DefaultTTL: 2,
        MaxTTL: 10,
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: ['limit', 'cursor', 'q'] },
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
        }),
      }),
    });
    build({ productCacheDefaultTtl: Duration.seconds(1), productCacheMaxTtl: Duration.seconds(5) })
      .template()
      .hasResourceProperties('AWS::CloudFront::CachePolicy', { CachePolicyConfig: Match.objectLike({ DefaultTTL: 1, MaxTTL: 5 }) });
  });

  test("caches the waiting room's public reads (1-5 s, as the origin says) and never its shopper calls", () => {
    const t = build().template();
    // Joining and admission carry the Bearer token: the uncached API behaviour, listed first.
    expect(behaviour(t, '/api/waiting-room/*/*')).toEqual({ ...behaviour(t, '/api/*'), PathPattern: '/api/waiting-room/*/*' });
    const reads = behaviour(t, '/api/waiting-room*');
    expect(reads).toMatchObject({
      CachePolicyId: { Ref: expect.stringMatching(/^EdgeWaitingRoomCachePolicy/) },
      AllowedMethods: ['GET', 'HEAD'],
      CachedMethods: ['GET', 'HEAD'],
      ViewerProtocolPolicy: 'https-only',
      TargetOriginId: behaviour(t, '/api/*').TargetOriginId,
    });
    expect(reads.OriginRequestPolicyId).toBeUndefined();
    t.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        Comment: Match.stringLikeRegexp('^Waiting room'),
        MinTTL: 0,
        DefaultTTL: 1,
        MaxTTL: 5,
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          QueryStringsConfig: { QueryStringBehavior: 'none' },
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
        }),
      }),
    });
  });

  test('adds the secret origin header to ALB requests as a dynamic reference, never the value', () => {
    const t = build({ originVerifyHeaderName: 'X-Surge-Origin' }).template();
    const albOrigin = distributionConfig(t).Origins.find((o: { CustomOriginConfig?: unknown }) => o.CustomOriginConfig);
    expect(albOrigin.OriginCustomHeaders).toEqual([
      { HeaderName: 'X-Surge-Origin', HeaderValue: `{{resolve:secretsmanager:${ORIGIN_SECRET_ARN}:SecretString:::}}` },
    ]);
    expect(build().edge.originVerifyHeaderName).toBe('X-Origin-Verify');
  });

  test('without a domain: default certificate, HTTP to the ALB, CFR4/CFR5 acknowledged with reasons', () => {
    const { edge, template } = build();
    const config = distributionConfig(template());
    expect(config.ViewerCertificate).toBeUndefined();
    expect(config.Aliases).toBeUndefined();
    const albOrigin = config.Origins.find((o: { CustomOriginConfig?: unknown }) => o.CustomOriginConfig);
    expect(albOrigin.CustomOriginConfig.OriginProtocolPolicy).toBe('http-only');
    expect(acknowledgedRules(edge)).toEqual(expect.arrayContaining(['AwsSolutions-CFR4', 'AwsSolutions-CFR5', 'AwsSolutions-CFR2']));
  });

  test('with a domain: TLSv1.2_2021 for viewers, HTTPS TLS 1.2 to the ALB, the WAF attached, no CFR4/CFR5 acknowledgment', () => {
    const { edge, template } = build({}, true);
    const config = distributionConfig(template());
    expect(config.Aliases).toEqual(['shop.example.com']);
    expect(config.ViewerCertificate).toEqual({ AcmCertificateArn: CERT_ARN, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
    const albOrigin = config.Origins.find((o: { CustomOriginConfig?: unknown }) => o.CustomOriginConfig);
    expect(albOrigin.DomainName).toBe('origin.shop.example.com');
    expect(albOrigin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    expect(config.WebACLId).toBe(WEB_ACL_ARN);
    const acknowledged = acknowledgedRules(edge);
    for (const rule of ['AwsSolutions-CFR2', 'AwsSolutions-CFR4', 'AwsSolutions-CFR5']) expect(acknowledged).not.toContain(rule);
  });

  test('logs access to the log bucket, which keeps logs 90 days and accepts CloudFront\'s ACL-based delivery', () => {
    const t = build().template();
    expect(distributionConfig(t).Logging).toEqual({
      Bucket: { 'Fn::GetAtt': [expect.stringMatching(/^EdgeLogBucket/), 'RegionalDomainName'] },
      Prefix: 'cloudfront/',
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 90, Status: 'Enabled' }] },
    });
  });

  test('both buckets refuse plain-HTTP requests and are retained by default', () => {
    const t = build().template();
    t.resourceCountIs('AWS::S3::Bucket', 2);
    t.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    t.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  test.each<[string, Partial<EdgeProps>, RegExp]>([
    ['domain names without a certificate', { domainNames: ['shop.example.com'] }, /domainNames \["shop.example.com"\] need a certificate/],
    ['a default TTL above the max TTL', { productCacheDefaultTtl: Duration.seconds(20) }, /productCacheDefaultTtl \(20 s\) must not exceed productCacheMaxTtl \(10 s\)/],
    ['a max TTL over 5 minutes', { productCacheMaxTtl: Duration.minutes(10) }, /productCacheMaxTtl must be at most 300 s .* got 600 s/],
    ['a fractional TTL', { productCacheDefaultTtl: Duration.millis(1500) }, /product cache TTLs must be whole seconds, got 1.5 s and 10 s/],
    ['an invalid header name', { originVerifyHeaderName: 'X Origin' }, /originVerifyHeaderName must be a valid HTTP header name, got 'X Origin'/],
    ['log retention under a day', { accessLogRetention: Duration.hours(1) }, /accessLogRetention must be a whole number of days, at least 1/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('rejects a certificate outside us-east-1, and a certificate without domain names', () => {
    const stack = standaloneStack('Edge');
    const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
      loadBalancerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/surge/0123456789abcdef',
      securityGroupId: 'sg-0123456789abcdef0',
      loadBalancerDnsName: 'surge-123.us-west-2.elb.amazonaws.com',
    });
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', CERT_ARN.replace('us-east-1', 'eu-west-1'));
    expect(
      () => new Edge(stack, 'Edge', { loadBalancer, originVerifyValue: SecretValue.unsafePlainText('x'), certificate }),
    ).toThrow(/a certificate was given without domainNames; CloudFront reads certificates only from us-east-1, got arn:aws:acm:eu-west-1/);
  });

  test('passes cdk-nag AwsSolutions with no unacknowledged errors, with and without a domain', () => {
    expect(unacknowledgedNagFindings(build().stack)).toEqual([]);
    expect(unacknowledgedNagFindings(build({}, true).stack)).toEqual([]);
  });

  test('with a domain, cdk-nag finds nothing left but the acknowledged geo-restriction warning', () => {
    const { stack } = build({}, true);
    expect(unacknowledgedNagFindings(stack, 'warning')).toEqual([]);
  });
});

/** Rule IDs acknowledged anywhere in the Edge construct's subtree. */
function acknowledgedRules(edge: Edge): string[] {
  return edge.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
    .flatMap((m) => Object.keys(m.data as object).map((k) => k.replace(/^annotation::/i, '')));
}

describe('the product cache key', () => {
  it('holds exactly the query parameters the product listing route reads', () => {
    expect([...PRODUCT_QUERY_PARAMETERS].sort()).toEqual(Object.keys(listProductsSchema.querystring.properties).sort());
  });
});
