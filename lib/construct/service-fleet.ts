// One EC2 Auto Scaling group of Surge instances: a launch template (Amazon Linux 2023, CPU
// architecture matching the instance type, IMDSv2 only, encrypted gp3 root volume, no key pair,
// Session Manager instead of SSH), private subnets, ELB or EC2 health checks with a grace period,
// CPU target tracking, optional ALB request-count and queue-backlog tracking, sale-event schedules,
// lifecycle notifications and a rolling instance refresh whenever the launch template changes.
// With a `release`, the boot script installs the service bundle (an S3 asset) and ships its logs; a
// released group without a target group (EC2 health checks only) gets a health watchdog on each
// instance that reports a dead service to Auto Scaling, allowed to do so for its own group only.
import { type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { renderBootScript } from '../deploy/boot-script';
import { scaleOnQueueBacklog, scheduleSaleWindows, type SaleWindow } from './fleet-scaling';

/** What a fleet runs: a bundled service, its environment and how long it may take to stop. */
export interface ServiceRelease {
  /** Directory holding the bundle (`app/main.js`, `migrations/`, `cluster-launcher.js`); see lib/deploy/bundle.ts. */
  readonly bundleDirectory: string;
  /** Environment of the service process. Secret ARNs only, never secret values: user data is readable. */
  readonly environment: Readonly<Record<string, string>>;
  /** How long the service may drain after SIGTERM; passed as SHUTDOWN_DEADLINE_MS. systemd kills it 10 s later. */
  readonly shutdownDeadline: Duration;
  /** Retention of the fleet's service log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * What happens to the service log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

export interface ServiceFleetProps {
  readonly vpc: ec2.IVpc;
  /** Fleet name (`user`, `order`, `payment`, `worker`), used in descriptions and user data. */
  readonly fleetName: string;
  /** Instance type; the AMI's CPU architecture follows it (Graviton types get the arm64 AMI). */
  readonly instanceType: ec2.InstanceType;
  /** Instances the group never goes below outside sale events. */
  readonly minCapacity: number;
  /** Instances the group never goes above. */
  readonly maxCapacity: number;
  /** Topic that receives launch, terminate and failure notifications. */
  readonly notificationTopic: sns.ITopic;
  /**
   * Target average CPU utilization (percent).
   * @default 70
   */
  readonly cpuTargetPercent?: number;
  /**
   * Root volume size in GiB.
   * @default 20
   */
  readonly volumeSizeGiB?: number;
  /**
   * Time after launch before a failing health check replaces an instance; also the instance warm-up.
   * @default Duration.seconds(120)
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * Load balancer target group to register the instances in. Turns on ELB health checks; requires
   * `requestsPerTargetPerMinute`. The target group must already be attached to a listener.
   * @default - not behind a load balancer; EC2 health checks only
   */
  readonly targetGroup?: elbv2.ApplicationTargetGroup;
  /**
   * Target ALB requests per instance per minute (ALBRequestCountPerTarget tracking).
   * @default - no request-count scaling (only allowed without `targetGroup`)
   */
  readonly requestsPerTargetPerMinute?: number;
  /**
   * Queues whose visible messages per in-service instance the group tracks.
   * @default - no backlog scaling
   */
  readonly backlog?: { readonly queues: readonly sqs.IQueue[]; readonly messagesPerInstance: number };
  /**
   * Planned sales that raise the group's minimum.
   * @default - none
   */
  readonly saleWindows?: readonly SaleWindow[];
  /**
   * The service the instances run: the boot script installs its bundle and starts it under systemd.
   * @default - no service; the boot script is `userData` or a placeholder
   */
  readonly release?: ServiceRelease;
  /**
   * For a `release` without `targetGroup` (EC2 health checks only, which see a running instance whose
   * service never started or keeps crashing as healthy): how long the service's `/health/live` may
   * fail before the instance's watchdog reports it unhealthy (SetInstanceHealth) and Auto Scaling
   * replaces it. At least 2 minutes; keep it above a slow boot with retries (about 5 minutes).
   * @default Duration.minutes(10)
   */
  readonly unhealthyAfter?: Duration;
  /**
   * Boot script, for fleets without a `release`.
   * @default - a placeholder that only records the fleet name
   */
  readonly userData?: ec2.UserData;
}

export class ServiceFleet extends Construct {
  /** Instance role; grant it access to queues, secrets and databases. */
  public readonly role: iam.Role;
  /** Attached to every instance; databases and caches admit it. */
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly launchTemplate: ec2.LaunchTemplate;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  public readonly userData: ec2.UserData;
  /** The group's target group when it serves HTTP behind the ALB. */
  public readonly targetGroup?: elbv2.ApplicationTargetGroup;
  /** The service bundle the instances download (with a `release`). */
  public readonly bundle?: s3assets.Asset;
  /** Log group receiving the service's output (with a `release`). */
  public readonly logGroup?: logs.LogGroup;
  /** Lets the instances report themselves unhealthy to their own group (with the health watchdog). */
  public readonly selfHealthPolicy?: iam.Policy;

  constructor(scope: Construct, id: string, props: ServiceFleetProps) {
    super(scope, id);
    validate(props);
    const grace = props.healthCheckGracePeriod ?? Duration.seconds(120);

    this.role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Surge ${props.fleetName} fleet instances`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'Session Manager replaces SSH (no key pair, no port 22); AWS maintains this policy in step with the SSM agent, which a hand-written copy would not.',
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Surge ${props.fleetName} fleet: no inbound except from the ALB; outbound to AWS APIs, database and cache`,
      allowAllOutbound: true,
    });

    if (props.release) {
      const release = props.release;
      this.bundle = new s3assets.Asset(this, 'Bundle', { path: release.bundleDirectory });
      this.logGroup = new logs.LogGroup(this, 'ServiceLogs', {
        retention: release.logRetention,
        removalPolicy: release.logRemovalPolicy ?? RemovalPolicy.DESTROY,
      });
      // Exactly what the boot script and the CloudWatch agent call; Asset.grantRead would add s3:List*.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bundle.bucket.arnForObjects(this.bundle.s3ObjectKey)] }),
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [this.logGroup.logGroupArn],
        }),
      );
      const userData = ec2.UserData.forLinux();
      // Without ELB health checks nothing else notices a service that never came up.
      const healthWatchdog = props.targetGroup
        ? undefined
        : { port: Number(release.environment.PORT ?? DEFAULT_SERVICE_PORT), unhealthyAfterSeconds: (props.unhealthyAfter ?? Duration.minutes(10)).toSeconds() };
      userData.addCommands(
        renderBootScript({
          healthWatchdog,
          fleetName: props.fleetName,
          bundleBucket: this.bundle.s3BucketName,
          bundleKey: this.bundle.s3ObjectKey,
          region: Stack.of(this).region,
          environment: { ...release.environment, SHUTDOWN_DEADLINE_MS: String(release.shutdownDeadline.toMilliseconds()) },
          logGroupName: this.logGroup.logGroupName,
          stopTimeoutSeconds: release.shutdownDeadline.toSeconds() + 10,
        }),
      );
      this.userData = userData;
    } else {
      this.userData = props.userData ?? placeholderUserData(props.fleetName);
    }
    const cpuType =
      props.instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: props.instanceType,
      // Resolved from the public SSM parameter at deploy time: no lookup at synth.
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType }),
      role: this.role,
      securityGroup: this.securityGroup,
      userData: this.userData,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true, // 1-minute metrics let target tracking react within a minute
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.volumeSizeGiB ?? 20, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: this.launchTemplate,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      // No desiredCapacity: a deployment must not reset what scaling decided.
      healthChecks: props.targetGroup
        ? autoscaling.HealthChecks.withAdditionalChecks({ additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB], gracePeriod: grace })
        : autoscaling.HealthChecks.ec2({ gracePeriod: grace }),
      defaultInstanceWarmup: grace,
      cooldown: Duration.seconds(60),
      groupMetrics: [autoscaling.GroupMetrics.all()],
      notifications: [{ topic: props.notificationTopic, scalingEvents: autoscaling.ScalingEvents.ALL }],
      // A new launch template version (AMI, user data, type) replaces instances gradually,
      // launching replacements before terminating old ones so capacity never dips.
      updatePolicy: autoscaling.UpdatePolicy.instanceRefresh({
        strategy: autoscaling.InstanceRefreshStrategy.ROLLING,
        minHealthyPercentage: 100,
        maxHealthyPercentage: 200,
        instanceWarmup: grace,
        skipMatching: true,
      }),
    });

    if (props.release && !props.targetGroup) {
      // Its own policy rather than the role's default one: it names the group, so it is created after
      // the group, while the group's launch template needs the role first.
      this.selfHealthPolicy = new iam.Policy(this, 'SelfHealthPolicy', {
        roles: [this.role],
        statements: [new iam.PolicyStatement({ actions: ['autoscaling:SetInstanceHealth'], resources: [this.autoScalingGroup.autoScalingGroupArn] })],
      });
      Validations.of(this.selfHealthPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${groupArnAsNagShowsIt(this.autoScalingGroup)}]`,
        reason: "The one wildcard is the group's ID inside its ARN (autoScalingGroup:*:autoScalingGroupName/<name>): Auto Scaling assigns it and CloudFormation exposes no attribute for it; the group's own name pins the statement to this group.",
      });
    }

    this.autoScalingGroup.scaleOnCpuUtilization('CpuScaling', { targetUtilizationPercent: props.cpuTargetPercent ?? 70 });

    if (props.targetGroup && props.requestsPerTargetPerMinute !== undefined) {
      this.targetGroup = props.targetGroup;
      this.autoScalingGroup.attachToApplicationTargetGroup(props.targetGroup);
      this.autoScalingGroup.scaleOnRequestCount('RequestCountScaling', { targetRequestsPerMinute: props.requestsPerTargetPerMinute });
    }
    if (props.backlog) {
      scaleOnQueueBacklog(this, this.autoScalingGroup, props.backlog.queues, props.backlog.messagesPerInstance);
    }
    scheduleSaleWindows(this, this.autoScalingGroup, props.saleWindows ?? [], props.minCapacity);
  }
}

/** Until a release bundles the services, instances only record which fleet they belong to. */
function placeholderUserData(fleetName: string): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  userData.addCommands(
    `# Surge ${fleetName} fleet: no service bundle is installed yet.`,
    `echo 'SURGE_FLEET=${fleetName}' > /etc/surge-fleet`,
  );
  return userData;
}

/**
 * The group's ARN as cdk-nag names it in a finding: pseudo parameters as `<AWS::Name>`, the group as
 * `<LogicalId>` (the acknowledgment must match the finding exactly).
 */
function groupArnAsNagShowsIt(group: autoscaling.AutoScalingGroup): string {
  const stack = Stack.of(group);
  const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  const groupId = stack.getLogicalId(group.node.defaultChild as CfnElement);
  return `arn:${shown(stack.partition, 'Partition')}:autoscaling:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:autoScalingGroup:*:autoScalingGroupName/<${groupId}>`;
}

/** The port the services listen on when PORT is not in a release's environment (services/platform/config.ts). */
const DEFAULT_SERVICE_PORT = 8080;

function validate(props: ServiceFleetProps): void {
  const problems: string[] = [];
  if (props.unhealthyAfter !== undefined && !props.unhealthyAfter.isUnresolved()) {
    if (!props.release || props.targetGroup) problems.push('unhealthyAfter applies only to a release without a targetGroup (the health watchdog)');
    if (props.unhealthyAfter.toSeconds({ integral: false }) < 120) problems.push(`unhealthyAfter must be at least 2 minutes, got ${props.unhealthyAfter.toHumanString()}`);
  }
  const known = (n: number | undefined) => n !== undefined && !Token.isUnresolved(n);
  if (known(props.minCapacity) && known(props.maxCapacity) && props.minCapacity > props.maxCapacity) {
    problems.push(`minCapacity (${props.minCapacity}) must not exceed maxCapacity (${props.maxCapacity})`);
  }
  if (known(props.cpuTargetPercent) && (props.cpuTargetPercent! <= 0 || props.cpuTargetPercent! > 100)) {
    problems.push(`cpuTargetPercent ${props.cpuTargetPercent} must be above 0 and at most 100`);
  }
  if ((props.targetGroup === undefined) !== (props.requestsPerTargetPerMinute === undefined)) {
    problems.push('targetGroup and requestsPerTargetPerMinute must be given together');
  }
  if (props.release && props.userData) problems.push('give either release or userData, not both');
  if (known(props.requestsPerTargetPerMinute) && props.requestsPerTargetPerMinute! <= 0) {
    problems.push(`requestsPerTargetPerMinute ${props.requestsPerTargetPerMinute} must be above 0`);
  }
  if (props.backlog) {
    if (props.backlog.queues.length === 0) problems.push('backlog.queues must hold at least one queue');
    if (known(props.backlog.messagesPerInstance) && props.backlog.messagesPerInstance <= 0) {
      problems.push(`backlog.messagesPerInstance ${props.backlog.messagesPerInstance} must be above 0`);
    }
    // GroupInServiceInstances is the divisor of the backlog expression.
    if (known(props.minCapacity) && props.minCapacity < 1) problems.push(`minCapacity ${props.minCapacity} must be at least 1 with backlog scaling`);
  }
  for (const window of props.saleWindows ?? []) {
    if (window.end.getTime() <= window.start.getTime()) problems.push(`sale ${JSON.stringify(window.name)} ends before it starts`);
    if (known(props.maxCapacity) && window.minCapacity > props.maxCapacity) {
      problems.push(`sale ${JSON.stringify(window.name)} minCapacity (${window.minCapacity}) exceeds maxCapacity (${props.maxCapacity})`);
    }
  }
  if (problems.length > 0) throw new Error(`ServiceFleet ${JSON.stringify(props.fleetName)}: ${problems.join('; ')}`);
}
