// ServiceFleet: launch template hardening, health checks, scaling policies (CPU, ALB request
// count, SQS backlog per instance), sale-event schedules, notifications, instance refresh.
import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { SaleWindow } from '../../lib/construct/fleet-scaling';
import { ServiceFleet, type ServiceFleetProps } from '../../lib/construct/service-fleet';
import { constructTestStack } from '../helpers/app';

interface Fixture {
  stack: Stack;
  vpc: ec2.Vpc;
  topic: sns.Topic;
  targetGroup: elbv2.ApplicationTargetGroup;
}

function fixture(): Fixture {
  const stack = constructTestStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 1 });
  const topic = new sns.Topic(stack, 'Events');
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true });
  const listener = alb.addListener('Http', { port: 80, open: false, defaultAction: elbv2.ListenerAction.fixedResponse(404) });
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, 'Targets', { vpc, port: 8080, protocol: elbv2.ApplicationProtocol.HTTP });
  listener.addTargetGroups('Route', { priority: 1, conditions: [elbv2.ListenerCondition.pathPatterns(['/api/users*'])], targetGroups: [targetGroup] });
  return { stack, vpc, topic, targetGroup };
}

function serviceFleet(f: Fixture, props: Partial<ServiceFleetProps> = {}): ServiceFleet {
  return new ServiceFleet(f.stack, 'Fleet', {
    vpc: f.vpc,
    fleetName: 'user',
    instanceType: new ec2.InstanceType('c7g.large'),
    minCapacity: 2,
    maxCapacity: 10,
    notificationTopic: f.topic,
    targetGroup: f.targetGroup,
    requestsPerTargetPerMinute: 6000,
    ...props,
  });
}

const sale: SaleWindow = {
  name: 'black-friday',
  start: new Date('2027-11-26T05:00:00Z'),
  end: new Date('2027-11-27T08:00:00Z'),
  minCapacity: 8,
  prewarmMinutes: 45,
};

describe('ServiceFleet launch template', () => {
  const f = fixture();
  const fleet = serviceFleet(f);
  const template = Template.fromStack(f.stack);

  test('IMDSv2 required, encrypted gp3 root volume, detailed monitoring, no key pair', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'c7g.large',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 20, DeleteOnTermination: true } }],
        Monitoring: { Enabled: true },
        KeyName: Match.absent(),
        IamInstanceProfile: Match.anyValue(),
      }),
    });
  });

  test('Amazon Linux 2023 for arm64 when the instance type is Graviton', () => {
    const parameters = Object.values(template.toJSON().Parameters) as Array<{ Default?: string }>;
    expect(parameters.map((p) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64');
  });

  test('no inbound rule exists on the fleet group (no port 22); access is through Session Manager', () => {
    const fleetGroupId = f.stack.getLogicalId(fleet.securityGroup.node.defaultChild as ec2.CfnSecurityGroup);
    expect(template.findResources('AWS::EC2::SecurityGroup')[fleetGroupId].Properties.SecurityGroupIngress).toBeUndefined();
    // The only rule admitting traffic comes from the load balancer, on the service port.
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter(
      (r) => r.Properties.GroupId['Fn::GetAtt']?.[0] === fleetGroupId,
    );
    expect(ingress.map((r) => [r.Properties.FromPort, r.Properties.ToPort])).toEqual([[8080, 8080]]);
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] }],
    });
  });

  test('user data is a placeholder that names the fleet', () => {
    expect(fleet.userData.render()).toContain("SURGE_FLEET=user");
  });
});

describe('ServiceFleet group', () => {
  const f = fixture();
  serviceFleet(f, { saleWindows: [sale], healthCheckGracePeriod: Duration.seconds(180) });
  const template = Template.fromStack(f.stack);

  test('private subnets, launch template, ELB health checks with a grace period, no desired capacity', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '2',
      MaxSize: '10',
      DesiredCapacity: Match.absent(),
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 180,
      LaunchTemplate: Match.objectLike({ LaunchTemplateId: Match.anyValue() }),
      LaunchConfigurationName: Match.absent(),
      VPCZoneIdentifier: [{ Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') }, { Ref: Match.stringLikeRegexp('VpcPrivateSubnet2') }],
      TargetGroupARNs: [{ Ref: Match.stringLikeRegexp('^Targets') }],
      MetricsCollection: [{ Granularity: '1Minute' }],
    });
  });

  test('launch, terminate and failure notifications go to the topic', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      NotificationConfigurations: [
        {
          TopicARN: { Ref: Match.stringLikeRegexp('^Events') },
          NotificationTypes: Match.arrayEquals([
            'autoscaling:EC2_INSTANCE_LAUNCH',
            'autoscaling:EC2_INSTANCE_LAUNCH_ERROR',
            'autoscaling:EC2_INSTANCE_TERMINATE',
            'autoscaling:EC2_INSTANCE_TERMINATE_ERROR',
          ]),
        },
      ],
    });
  });

  test('a launch template change rolls through an instance refresh that never drops capacity', () => {
    template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      UpdatePolicy: {
        AutoScalingInstanceRefresh: {
          Strategy: 'Rolling',
          Preferences: Match.objectLike({ MinHealthyPercentage: 100, MaxHealthyPercentage: 200, InstanceWarmup: 180, SkipMatching: true }),
        },
      },
    });
  });

  test('a deployment during a sale keeps the pre-warmed size (CloudFormation leaves unmodified sizes alone)', () => {
    template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      UpdatePolicy: Match.objectLike({ AutoScalingScheduledAction: { IgnoreUnmodifiedGroupSizeProperties: true } }),
    });
  });

  test('target tracking on CPU (70% by default) and on ALB requests per target', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: 70 },
    });
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget', ResourceLabel: Match.anyValue() },
        TargetValue: 6000,
      },
    });
  });

  test('a sale pre-warms the minimum before it starts and releases it at the end', () => {
    template.resourceCountIs('AWS::AutoScaling::ScheduledAction', 2);
    template.hasResourceProperties('AWS::AutoScaling::ScheduledAction', { StartTime: '2027-11-26T04:15:00Z', MinSize: 8, Recurrence: Match.absent() });
    template.hasResourceProperties('AWS::AutoScaling::ScheduledAction', { StartTime: '2027-11-27T08:00:00Z', MinSize: 2 });
  });
});

describe('ServiceFleet as a queue worker', () => {
  const f = fixture();
  const queues = [new sqs.Queue(f.stack, 'OrderPlaced'), new sqs.Queue(f.stack, 'PaymentResult')];
  new ServiceFleet(f.stack, 'Worker', {
    vpc: f.vpc,
    fleetName: 'worker',
    instanceType: new ec2.InstanceType('m7i.large'),
    minCapacity: 1,
    maxCapacity: 6,
    cpuTargetPercent: 60,
    notificationTopic: f.topic,
    backlog: { queues, messagesPerInstance: 100 },
  });
  const template = Template.fromStack(f.stack);

  test('EC2 health checks only and no target group', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { HealthCheckType: 'EC2', TargetGroupARNs: Match.absent() });
  });

  test('x86 instance types get the x86_64 AMI', () => {
    const parameters = Object.values(template.toJSON().Parameters) as Array<{ Default?: string }>;
    expect(parameters.map((p) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64');
  });

  test('scales on visible messages of both queues per in-service instance (metric math)', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        TargetValue: 100,
        CustomizedMetricSpecification: {
          Metrics: [
            Match.objectLike({ Id: 'queue0', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' }), Stat: 'Sum' }), ReturnData: false }),
            Match.objectLike({ Id: 'queue1', ReturnData: false }),
            Match.objectLike({ Id: 'inService', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/AutoScaling', MetricName: 'GroupInServiceInstances' }) }), ReturnData: false }),
            { Id: 'backlogPerInstance', Expression: '(queue0 + queue1) / inService', Label: Match.anyValue(), ReturnData: true },
          ],
        },
      },
    });
  });

  test('CPU target tracking uses the configured target', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: 60 },
    });
  });
});

describe('ServiceFleet rejects', () => {
  test('a watchdog limit on a fleet without a watchdog, and one too short to boot in', () => {
    expect(() => serviceFleet(fixture(), { unhealthyAfter: Duration.minutes(10) })).toThrow(/unhealthyAfter applies only to a release without a targetGroup/);
    expect(() => serviceFleet(fixture(), { unhealthyAfter: Duration.seconds(30) })).toThrow(/unhealthyAfter must be at least 2 minutes, got 30 seconds/);
  });
  test('min above max', () => {
    expect(() => serviceFleet(fixture(), { minCapacity: 5, maxCapacity: 3 })).toThrow(/minCapacity \(5\) must not exceed maxCapacity \(3\)/);
  });
  test('a target group without a request-count target', () => {
    expect(() => serviceFleet(fixture(), { requestsPerTargetPerMinute: undefined })).toThrow(/targetGroup and requestsPerTargetPerMinute must be given together/);
  });
  test('a CPU target outside (0, 100]', () => {
    expect(() => serviceFleet(fixture(), { cpuTargetPercent: 0 })).toThrow(/cpuTargetPercent 0 must be above 0/);
  });
  test('a sale above the maximum and a sale ending before it starts', () => {
    expect(() => serviceFleet(fixture(), { saleWindows: [{ ...sale, minCapacity: 11 }] })).toThrow(/minCapacity \(11\) exceeds maxCapacity \(10\)/);
    expect(() => serviceFleet(fixture(), { saleWindows: [{ ...sale, end: new Date('2027-11-25T00:00:00Z') }] })).toThrow(/ends before it starts/);
  });
  test('backlog scaling with a minimum of zero instances', () => {
    const f = fixture();
    expect(
      () =>
        new ServiceFleet(f.stack, 'Worker', {
          vpc: f.vpc,
          fleetName: 'worker',
          instanceType: new ec2.InstanceType('t4g.small'),
          minCapacity: 0,
          maxCapacity: 2,
          notificationTopic: f.topic,
          backlog: { queues: [new sqs.Queue(f.stack, 'Q')], messagesPerInstance: 10 },
        }),
    ).toThrow(/minCapacity 0 must be at least 1 with backlog scaling/);
  });
});
