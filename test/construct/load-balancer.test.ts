// LoadBalancer: reachable only from CloudFront (prefix list + secret header), path routes to
// target groups with readiness health checks, 404 JSON default, HTTPS when a certificate is given.
import { Duration, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HEALTH_CHECK, LoadBalancer, type LoadBalancerProps, NOT_FOUND_BODY, ORIGIN_VERIFY_HEADER } from '../../lib/construct/load-balancer';
import { constructTestStack } from '../helpers/app';

const PREFIX_LIST = 'pl-82a045eb';

function build(props: Partial<LoadBalancerProps> & { withCertificate?: boolean } = {}): { stack: Stack; lb: LoadBalancer } {
  const stack = constructTestStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 1 });
  const certificate = props.withCertificate
    ? acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-west-2:111122223333:certificate/abc')
    : undefined;
  const lb = new LoadBalancer(stack, 'Lb', { vpc, cloudFrontPrefixListId: PREFIX_LIST, certificate, ...props });
  return { stack, lb };
}

describe('LoadBalancer', () => {
  test('internet-facing, drops invalid headers, logs access to S3, deletion protection as configured', () => {
    const { stack } = build({ deletionProtection: true });
    const template = Template.fromStack(stack);
    for (const attribute of [
      { Key: 'deletion_protection.enabled', Value: 'true' },
      { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
      { Key: 'access_logs.s3.enabled', Value: 'true' },
      { Key: 'idle_timeout.timeout_seconds', Value: '60' },
    ]) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internet-facing',
        LoadBalancerAttributes: Match.arrayWith([attribute]),
      });
    }
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
  });

  test('deletion protection is off by default', () => {
    Template.fromStack(build().stack).hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: 'false' }]),
    });
  });

  test('the security group admits only the CloudFront prefix list, never 0.0.0.0/0', () => {
    const template = Template.fromStack(build().stack);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties).toMatchObject({ SourcePrefixListId: PREFIX_LIST, FromPort: 80, ToPort: 80, IpProtocol: 'tcp' });
    for (const group of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
      expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    }
  });

  test('unrouted requests get a fixed 404 JSON response', () => {
    Template.fromStack(build().stack).hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'application/json', MessageBody: NOT_FOUND_BODY } }],
    });
    expect(JSON.parse(NOT_FOUND_BODY)).toEqual({ error: 'not_found', message: expect.any(String) });
  });

  test('a service route forwards its paths only with the secret origin header', () => {
    const { stack, lb } = build();
    lb.addServiceRoute('order', { priority: 20, pathPatterns: ['/api/orders*', '/api/products*'] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 20,
      Conditions: Match.arrayWith([
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/orders*', '/api/products*'] } },
        {
          Field: 'http-header',
          HttpHeaderConfig: {
            HttpHeaderName: ORIGIN_VERIFY_HEADER,
            // A dynamic reference to the generated secret, resolved at deploy time.
            Values: [{ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('\\{\\{resolve:secretsmanager:')])] }],
          },
        },
      ]),
      Actions: [Match.objectLike({ Type: 'forward' })],
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 32, ExcludePunctuation: true },
    });
  });

  test('target groups health-check the shallow /health/live on 8080 with the configured delays', () => {
    const { stack, lb } = build();
    lb.addServiceRoute('user', { priority: 10, pathPatterns: ['/api/users*'], slowStart: Duration.seconds(60) });
    lb.addServiceRoute('payment', { priority: 30, pathPatterns: ['/api/payments*'], deregistrationDelay: Duration.seconds(45) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      Protocol: 'HTTP',
      TargetType: 'instance',
      // Liveness, not readiness: a database outage must not fail every instance's check at once.
      HealthCheckPath: '/health/live',
      Matcher: { HttpCode: '200' },
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
        { Key: 'slow_start.duration_seconds', Value: '60' },
      ]),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '45' }]),
    });
  });

  test('a dead process leaves rotation within ~20 s, and a check cannot outlast its interval', () => {
    // The arithmetic docs/ARCHITECTURE.md ("Health checks") relies on.
    expect(HEALTH_CHECK.intervalSeconds * HEALTH_CHECK.unhealthyThreshold).toBe(20);
    expect(HEALTH_CHECK.timeoutSeconds).toBeLessThan(HEALTH_CHECK.intervalSeconds);
  });

  test('without a certificate: HTTP listener and a synth warning', () => {
    const { stack, lb } = build();
    expect(lb.protocol).toBe('HTTP');
    Annotations.fromStack(stack).hasWarning('/Test/Lb', Match.stringLikeRegexp('No certificate configured'));
  });

  test('with a certificate: HTTPS on 443 with a TLS 1.2+ policy and port 80 redirected', () => {
    const { stack, lb } = build({ withCertificate: true });
    expect(lb.protocol).toBe('HTTPS');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-PQ-2025-09',
      Certificates: [{ CertificateArn: 'arn:aws:acm:us-west-2:111122223333:certificate/abc' }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [{ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' }) }],
    });
    // 443 on the main group, 80 (redirect only) on its own group: the prefix list weighs ~55 rules.
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties);
    expect(ingress).toHaveLength(2);
    expect(ingress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ SourcePrefixListId: PREFIX_LIST, FromPort: 443, GroupId: { 'Fn::GetAtt': [expect.stringMatching(/^LbSecurityGroup/), 'GroupId'] } }),
        expect.objectContaining({ SourcePrefixListId: PREFIX_LIST, FromPort: 80, GroupId: { 'Fn::GetAtt': [expect.stringMatching(/^LbRedirectSecurityGroup/), 'GroupId'] } }),
      ]),
    );
    Annotations.fromStack(stack).hasNoWarning('/Test/Lb', Match.stringLikeRegexp('No certificate configured'));
  });

  test('rejects a prefix list ID that is not one', () => {
    expect(() => build({ cloudFrontPrefixListId: 'cloudfront' })).toThrow(/cloudFrontPrefixListId "cloudfront" is not a prefix list ID/);
  });

  test('rejects too many path patterns, a bad priority and a duplicate route', () => {
    const { lb } = build();
    expect(() => lb.addServiceRoute('x', { priority: 1, pathPatterns: ['/a', '/b', '/c', '/d'] })).toThrow(/must hold 1-3 patterns \(an ALB condition compares at most three values\)/);
    expect(() => lb.addServiceRoute('x', { priority: 0, pathPatterns: ['/a'] })).toThrow(/priority 0 must be a whole number from 1 to 50000/);
    lb.addServiceRoute('user', { priority: 10, pathPatterns: ['/api/users*'] });
    expect(() => lb.addServiceRoute('user', { priority: 11, pathPatterns: ['/api/users*'] })).toThrow(/a route named "user" already exists/);
  });
});
