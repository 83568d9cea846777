// The regional stack as `cdk synth -c env=<name>` builds it: composition of every construct from
// the environment's config, checked per environment, plus one snapshot per environment.
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { SurgeApp } from '../../lib/app';
import { prod } from '../../lib/config/prod';
import { SurgeStack } from '../../lib/stack/surge-stack';
import { buildSurgeApp, cdkContext } from '../helpers/app';
import { maskAssetHashes, maskVersionHashes } from '../helpers/snapshot';

expect.addSnapshotSerializer(maskAssetHashes);

const built: Record<string, { surge: SurgeApp; template: Template }> = {};
function regional(envName: 'dev' | 'prod'): { surge: SurgeApp; template: Template } {
  if (!built[envName]) {
    const surge = buildSurgeApp(envName);
    built[envName] = { surge, template: Template.fromStack(surge.stack) };
  }
  return built[envName];
}

describe.each(['dev', 'prod'] as const)('Surge-%s', (envName) => {
  const { surge, template } = regional(envName);
  const config = surge.config;

  test('matches the snapshot', () => {
    expect(maskVersionHashes(template.toJSON())).toMatchSnapshot();
  });

  test('data-retaining environments refuse stack deletion', () => {
    expect(surge.stack.terminationProtection).toBe(config.retainData);
    expect(surge.wafStack.terminationProtection).toBe(config.retainData);
  });

  test('the ALB may only open connections to the three service fleets on 8080', () => {
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map((r) => r.Properties);
    // With a domain (prod) the ALB also wears the port-80 redirect group, which CDK gives the same egress.
    const albGroups = config.domain ? ['LoadBalancerRedirectSecurityGroup', 'LoadBalancerSecurityGroup'] : ['LoadBalancerSecurityGroup'];
    const fleets = ['OrderFleetSecurityGroup', 'PaymentFleetSecurityGroup', 'UserFleetSecurityGroup'];
    expect(egress.map((r) => [r.GroupId['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, ''), r.FromPort, r.DestinationSecurityGroupId['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, '')]).sort()).toEqual(
      albGroups.flatMap((group) => fleets.map((fleet) => [group, 8080, fleet])),
    );
  });

  test('lives in the configured region and spans the configured AZs', () => {
    expect(surge.stack.region).toBe(config.region);
    expect(surge.stack.stackName).toBe(`Surge-${envName}`);
    template.resourceCountIs('AWS::EC2::Subnet', 3 * config.availabilityZones.length);
    // NAT gateways, or NAT instances of the configured type where the config asks for them (dev).
    const natInstanceTypes = Object.values(template.findResources('AWS::EC2::Instance'))
      .filter((i) => i.Properties.SourceDestCheck === false)
      .map((i) => i.Properties.InstanceType);
    const { natGateways, natInstanceType } = config.network;
    expect({ gateways: Object.keys(template.findResources('AWS::EC2::NatGateway')).length, instances: natInstanceTypes }).toEqual(
      natInstanceType ? { gateways: 0, instances: Array(natGateways).fill(natInstanceType) } : { gateways: natGateways, instances: [] },
    );
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });

  test('one Auto Scaling group per service plus the worker group, all from launch templates', () => {
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 4);
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 4);
    template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
    for (const name of ['user', 'order', 'payment', 'worker'] as const) {
      const fleet = config.fleets[name];
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MinSize: String(fleet.minCapacity),
        MaxSize: String(fleet.maxCapacity),
        HealthCheckType: name === 'worker' ? 'EC2' : 'ELB',
        HealthCheckGracePeriod: fleet.healthCheckGraceSeconds,
        LaunchTemplate: { LaunchTemplateId: { Ref: Match.stringLikeRegexp(`^${name[0].toUpperCase()}${name.slice(1)}Fleet`) }, Version: Match.anyValue() },
      });
    }
  });

  test('the ALB routes each service path to its fleet and needs the origin header', () => {
    const routes: Array<[number, string[]]> = [
      [10, ['/api/users*']],
      [20, ['/api/orders*', '/api/products*', '/api/waiting-room*']],
      [30, ['/api/payments*']],
    ];
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 3);
    for (const [priority, paths] of routes) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        Priority: priority,
        Conditions: Match.arrayWith([
          { Field: 'path-pattern', PathPatternConfig: { Values: paths } },
          Match.objectLike({ Field: 'http-header', HttpHeaderConfig: Match.objectLike({ HttpHeaderName: 'X-Origin-Verify' }) }),
        ]),
      });
    }
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 3);
    template.allResourcesProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      // Liveness only: with ELB health checks on the groups, a readiness check that follows the
      // database would have Auto Scaling replace every instance during an Aurora failover.
      HealthCheckPath: '/health/live',
      HealthCheckIntervalSeconds: 10,
      UnhealthyThresholdCount: 2,
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: String(config.loadBalancer.deregistrationDelaySeconds) }]),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: String(config.loadBalancer.deletionProtection) }]),
    });
  });

  test('the worker fleet scales on backlog per instance of both event queues', () => {
    const policies = template.findResources('AWS::AutoScaling::ScalingPolicy', {
      Properties: { TargetTrackingConfiguration: { CustomizedMetricSpecification: Match.anyValue() } },
    });
    expect(Object.keys(policies)).toHaveLength(1);
    const metrics = Object.values(policies)[0].Properties.TargetTrackingConfiguration.CustomizedMetricSpecification.Metrics;
    const queueNames = metrics.filter((m: { Id: string }) => m.Id.startsWith('queue')).map((m: { MetricStat: { Metric: { Dimensions: Array<{ Value: unknown }> } } }) => m.MetricStat.Metric.Dimensions[0].Value);
    expect(queueNames).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^OrderPlacedQueue/), 'QueueName'] }, { 'Fn::GetAtt': [expect.stringMatching(/^PaymentResultQueue/), 'QueueName'] }]);
    expect(Object.values(policies)[0].Properties.TargetTrackingConfiguration.TargetValue).toBe(config.fleets.worker.backlogPerInstance);
  });

  test('CPU (configured target) and request-count tracking on each service fleet', () => {
    const policies = Object.values(template.findResources('AWS::AutoScaling::ScalingPolicy')).map((p) => p.Properties.TargetTrackingConfiguration);
    const cpu = policies.filter((p) => p.PredefinedMetricSpecification?.PredefinedMetricType === 'ASGAverageCPUUtilization');
    const requests = policies.filter((p) => p.PredefinedMetricSpecification?.PredefinedMetricType === 'ALBRequestCountPerTarget');
    expect(cpu.map((p) => p.TargetValue)).toEqual([70, 70, 70, 70]);
    expect(requests).toHaveLength(3);
  });

  test('one pre-warm and one release action per fleet per sale event', () => {
    template.resourceCountIs('AWS::AutoScaling::ScheduledAction', 2 * 4 * config.saleEvents.length);
  });

  test('only the worker fleet may send to and receive from the queues', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const withSqs = policies.filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('sqs:ReceiveMessage'));
    expect(withSqs).toHaveLength(1);
    expect(JSON.stringify(withSqs[0].Properties.Roles)).toMatch(/WorkerFleetInstanceRole/);
    expect(JSON.stringify(withSqs[0].Properties.PolicyDocument)).toContain('sqs:SendMessage');
  });

  test('the database admits the four fleets and the migration step, the cache only the fleets', () => {
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties);
    const sources = (target: RegExp) =>
      ingress
        .filter((r) => target.test(JSON.stringify(r.GroupId)))
        .map((r) => ((r.SourceSecurityGroupId?.['Fn::GetAtt']?.[0] as string | undefined) ?? 'other').replace(/[0-9A-F]{8}$/, ''))
        .sort();
    const fleets = ['OrderFleetSecurityGroup', 'PaymentFleetSecurityGroup', 'UserFleetSecurityGroup', 'WorkerFleetSecurityGroup'];
    expect(sources(/DatabaseSecurityGroup/)).toEqual(['MigrationSecurityGroup', ...fleets]);
    expect(sources(/CacheSecurityGroup/)).toEqual(fleets);
  });

  test('every fleet is created and rolled only after the migration step succeeded', () => {
    const triggers = template.findResources('Custom::Trigger');
    expect(Object.keys(triggers)).toHaveLength(2);
    const triggerId = Object.keys(triggers).find((id) => /^MigrationTrigger/.test(id))!;
    // CloudFormation updates a resource only after everything in its DependsOn: each group's update
    // (and the instance refresh it starts) waits for the trigger, which fails the deploy if migrating fails.
    const groups = template.findResources('AWS::AutoScaling::AutoScalingGroup');
    expect(Object.keys(groups)).toHaveLength(4);
    for (const [id, group] of Object.entries(groups)) {
      expect({ id, dependsOnMigration: (group.DependsOn ?? []).includes(triggerId) }).toEqual({ id, dependsOnMigration: true });
    }
    const trigger = triggers[triggerId];
    // The current version of the function: a new bundle (new migrations) is a new version, and runs again.
    expect(trigger.Properties).toMatchObject({
      HandlerArn: { Ref: expect.stringMatching(/^MigrationFunctionCurrentVersion/) },
      InvocationType: 'RequestResponse',
      ExecuteOnHandlerChange: true,
      Timeout: String(15 * 60 * 1000),
    });
    // It runs once the writer exists and admits the step.
    expect(trigger.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^DatabaseClusterWriter/), expect.stringMatching(/^DatabaseSecurityGroupfrom.*MigrationSecurityGroup/)]));
  });

  test('the migration step runs in the private subnets with the database settings and no secret value', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'app/main.handler',
      Timeout: 900,
      ReservedConcurrentExecutions: Match.absent(),
      VpcConfig: { SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^NetworkVpcprivateSubnet') }]), SecurityGroupIds: Match.anyValue() },
      Environment: {
        Variables: {
          DB_WRITER_HOST: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseCluster'), 'Endpoint.Address'] },
          DB_PORT: String(surge.stack.database.port),
          DB_NAME: 'surge',
          DB_SECRET_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseCluster'), 'MasterUserSecret.SecretArn'] },
          DB_CA_BUNDLE_URL: 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem',
        },
      },
    });
    // Reads the database secret and nothing else.
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes('MigrationFunctionServiceRole'));
    expect(policies.map((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      [{ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'MasterUserSecret.SecretArn'] } }],
    ]);
  });

  test('Aurora reader count and instance class come from the config', () => {
    template.resourceCountIs('AWS::RDS::DBInstance', 1 + config.database.readers);
    template.allResourcesProperties('AWS::RDS::DBInstance', { DBInstanceClass: `db.${config.database.instanceClass}` });
    template.hasResourceProperties('AWS::RDS::DBCluster', { BackupRetentionPeriod: config.database.backupRetentionDays, DeletionProtection: config.retainData });
  });

  test('the cache follows the configured node type, shards and replicas', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheNodeType: config.cache.nodeType,
      SnapshotRetentionLimit: config.cache.snapshotRetentionDays,
    });
  });

  test('CloudFront uses the us-east-1 web ACL through a cross-region reference', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        WebACLId: { 'Fn::GetStackOutput': Match.objectLike({ StackName: `Surge-${envName}-Waf`, Region: 'us-east-1' }) },
      }),
    });
  });

  test('the ops tools find every resource through the shared output keys', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    for (const key of [
      'UserFleetAutoScalingGroupName', 'OrderFleetAutoScalingGroupName', 'PaymentFleetAutoScalingGroupName', 'WorkerFleetAutoScalingGroupName',
      'OrderPlacedQueueUrl', 'OrderPlacedDlqUrl', 'PaymentResultQueueUrl', 'PaymentResultDlqUrl',
      'DatabaseClusterIdentifier', 'CacheReplicationGroupId', 'DistributionId',
      'TokenSigningKeyArn', 'TokenPublicKeysParameterName',
    ]) {
      expect(outputs).toContain(key);
    }
  });
});

describe('Surge-prod specifics', () => {
  const { surge, template } = regional('prod');

  test('viewers need TLS 1.2 on the custom certificate, and CloudFront reaches the ALB over HTTPS', () => {
    const domain = surge.config.domain!;
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: [...domain.domainNames],
        // MinimumProtocolVersion only takes effect with a custom certificate (with the *.cloudfront.net
        // one CloudFront fixes TLSv1), hence the domain requirement in validateConfig.
        ViewerCertificate: { AcmCertificateArn: domain.cloudFrontCertificateArn, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
        Origins: Match.arrayWith([
          Match.objectLike({
            DomainName: domain.originDomainName,
            CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] }),
          }),
        ]),
      }),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: domain.loadBalancerCertificateArn }] });
    // Port 80 only redirects: no route is served over HTTP.
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, DefaultActions: [Match.objectLike({ Type: 'redirect' })] });
    Annotations.fromStack(surge.stack).hasNoWarning('/Surge-prod/LoadBalancer', Match.stringLikeRegexp('No certificate configured'));
  });

  test('the shipped placeholder domain is flagged, since its certificates do not exist', () => {
    Annotations.fromStack(surge.stack).hasWarning('/Surge-prod', Match.stringLikeRegexp('domain holds placeholders'));
  });

  test('interface endpoints for SQS and CloudWatch Logs', () => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: 'com.amazonaws.us-west-2.sqs', VpcEndpointType: 'Interface' });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: 'com.amazonaws.us-west-2.logs', VpcEndpointType: 'Interface' });
  });

  test('the sample sale event pre-warms every fleet 45 minutes early', () => {
    const prewarms = Object.values(template.findResources('AWS::AutoScaling::ScheduledAction')).filter((a) => a.Properties.StartTime === '2027-11-26T04:15:00Z');
    expect(prewarms).toHaveLength(4);
    expect(prewarms.every((a) => a.Properties.MinSize === 12)).toBe(true);
  });
});

describe('sale events and the clock', () => {
  const synthAt = (now: Date) => {
    const app = new App({ context: cdkContext });
    return new SurgeStack(app, 'Surge-clock', { env: { region: prod.region }, config: prod, now });
  };

  test('a sale whose pre-warm time has passed is flagged, since AWS rejects past scheduled actions', () => {
    Annotations.fromStack(synthAt(new Date('2027-11-26T04:30:00Z'))).hasWarning('/Surge-clock', Match.stringLikeRegexp('Sale event "black-friday-2027" pre-warms at 2027-11-26T04:15:00.000Z'));
  });

  test('an upcoming sale is not flagged', () => {
    Annotations.fromStack(synthAt(new Date('2027-11-26T04:00:00Z'))).hasNoWarning('/Surge-clock', Match.stringLikeRegexp('Sale event'));
  });
});

describe('Surge-dev specifics', () => {
  test('without a domain the synth warns that CloudFront reaches the ALB over HTTP', () => {
    const { surge } = regional('dev');
    Annotations.fromStack(surge.stack).hasWarning('/Surge-dev/LoadBalancer', Match.stringLikeRegexp('No certificate configured'));
    Annotations.fromStack(surge.stack).hasNoWarning('/Surge-dev', Match.stringLikeRegexp('domain holds placeholders'));
  });

  test('no interface endpoints, only the S3 gateway', () => {
    const { template } = regional('dev');
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
  });
});

describe('with a domain configured', () => {
  const app = new App({ context: cdkContext });
  const stack = new SurgeStack(app, 'Surge-domain', {
    env: { region: prod.region },
    config: {
      ...prod,
      domain: {
        domainNames: ['shop.example.com'],
        cloudFrontCertificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/cf',
        originDomainName: 'origin.shop.example.com',
        loadBalancerCertificateArn: 'arn:aws:acm:us-west-2:111122223333:certificate/alb',
      },
    },
  });
  const template = Template.fromStack(stack);

  test('the routes live on HTTPS and CloudFront reaches the ALB over HTTPS by name', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['shop.example.com'],
        Origins: Match.arrayWith([Match.objectLike({ DomainName: 'origin.shop.example.com', CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only' }) })]),
      }),
    });
    Annotations.fromStack(stack).hasNoWarning('/Surge-domain/LoadBalancer', Match.stringLikeRegexp('No certificate configured'));
  });
});

describe('createApp', () => {
  test('rejects an unknown environment', () => {
    expect(() => buildSurgeApp('staging')).toThrow(/Unknown environment "staging"/);
  });
});
