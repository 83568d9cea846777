// The VPC every Surge resource lives in: public subnets for the ALB and the NAT gateways (or NAT
// instances), private subnets with egress for the fleets, isolated subnets for Aurora and Redis; flow
// logs; an S3 gateway endpoint and optional interface endpoints.
import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { InterfaceEndpointName } from '../config/types';

const ENDPOINT_SERVICES: Record<InterfaceEndpointName, ec2.InterfaceVpcEndpointAwsService> = {
  sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  secretsmanager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
  ssmmessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
  ec2messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
  kms: ec2.InterfaceVpcEndpointAwsService.KMS,
};

export interface NetworkProps {
  /** The VPC's IPv4 CIDR block; it must hold a /20 private and two /24 subnets per zone (/17 or larger for three zones). */
  readonly cidr: string;
  /** Zones the VPC spans, named explicitly so synth never looks them up. At least two. */
  readonly availabilityZones: readonly string[];
  /** NAT gateways (or NAT instances), between 1 and the number of zones; with fewer than one per zone, zones share them. */
  readonly natGateways: number;
  /**
   * Route egress through NAT instances of this type instead of managed NAT gateways: Amazon Linux 2023
   * placed by CDK's `NatProvider.instanceV2` and set up by this construct's boot script (iptables
   * masquerading), IMDSv2 only, an encrypted 8 GiB gp3 root volume (the image's own size), a public IPv4
   * address, and inbound TCP admitted from the VPC only.
   * @default - managed NAT gateways
   */
  readonly natInstanceType?: ec2.InstanceType;
  /**
   * AWS services reached through interface endpoints in the private subnets instead of the NAT gateways.
   * @default - none; an S3 gateway endpoint (free) is always added
   */
  readonly interfaceEndpoints?: readonly InterfaceEndpointName[];
  /** Days flow logs are kept in CloudWatch Logs. */
  readonly flowLogRetention: logs.RetentionDays;
  /**
   * What happens to the flow log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class Network extends Construct {
  public readonly vpc: ec2.Vpc;
  /** Receives every flow record (accepted and rejected) of the VPC. */
  public readonly flowLogGroup: logs.LogGroup;
  /** Shared by the interface endpoints; present only when there are any. */
  public readonly endpointSecurityGroup?: ec2.SecurityGroup;
  public readonly interfaceEndpoints: Partial<Record<InterfaceEndpointName, ec2.InterfaceVpcEndpoint>> = {};
  /** The NAT instances, one per NAT, when `natInstanceType` is set; empty with NAT gateways. */
  public readonly natInstances: readonly ec2.Instance[];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    validate(props);

    const natInstances = props.natInstanceType
      ? ec2.NatProvider.instanceV2({
          instanceType: props.natInstanceType,
          // Nothing from the internet may open a connection to it; the VPC's own traffic is admitted below.
          defaultAllowedTraffic: ec2.NatTrafficDirection.OUTBOUND_ONLY,
          // Stated rather than left to the public subnet's MapPublicIpOnLaunch: without it there is no egress.
          associatePublicIpAddress: true,
          userData: natInstanceUserData(),
        })
      : undefined;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: [...props.availabilityZones],
      natGateways: props.natGateways,
      natGatewayProvider: natInstances,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // The S3 gateway endpoint costs nothing and keeps package, asset and log traffic off the NAT.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });

    this.natInstances = natInstances ? natInstances.gatewayInstances : [];
    if (natInstances) {
      // The VPC's literal CIDR (not a token), so policy checks can see nothing outside the VPC is admitted.
      // TCP only: the fleets reach AWS APIs and package repositories over HTTPS; DNS and time stay in the VPC.
      natInstances.connections.allowFrom(ec2.Peer.ipv4(props.cidr), ec2.Port.allTcp(), 'TCP from the VPC, forwarded to the internet');
      for (const instance of this.natInstances) hardenNatInstance(instance);
    }

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    const endpoints = props.interfaceEndpoints ?? [];
    if (endpoints.length > 0) {
      // One group for all endpoints, admitting HTTPS from the VPC's literal CIDR (not a token),
      // so policy checks can see that nothing outside the VPC is admitted.
      this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'Surge interface endpoints: HTTPS from inside the VPC',
        allowAllOutbound: false,
      });
      this.endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
    }
    for (const name of endpoints) {
      this.interfaceEndpoints[name] = this.vpc.addInterfaceEndpoint(`${name}Endpoint`, {
        service: ENDPOINT_SERVICES[name],
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        privateDnsEnabled: true,
        securityGroups: this.endpointSecurityGroup ? [this.endpointSecurityGroup] : [],
        open: false,
      });
    }
  }
}

/**
 * Turns a fresh Amazon Linux 2023 instance into a NAT. Replaces CDK's default commands, which try the
 * iptables install once (another dnf run at first boot can delete the package cache mid-install,
 * aws/aws-cdk#36717) and rely on `route` and `service`, which not every AL2023 image ships; `ip` and
 * `iptables-save` come with the system and the package. Forwarding and the rules are saved, so a
 * reboot (EC2 automatic recovery) restores the NAT.
 */
function natInstanceUserData(): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  userData.addCommands(
    'set -euo pipefail',
    'for attempt in $(seq 1 30); do dnf install -y iptables-services && break; echo "iptables-services install failed (attempt $attempt), retrying"; sleep 10; done',
    'rpm -q iptables-services',
    "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-nat.conf",
    'sysctl -p /etc/sysctl.d/90-nat.conf',
    // The stock rules reject inbound connections other than SSH and all forwarding; keep the former.
    'systemctl enable --now iptables',
    "egress_interface=$(ip -4 route show default | awk '{print $5; exit}')",
    'iptables -t nat -A POSTROUTING -o "$egress_interface" -j MASQUERADE',
    'iptables -F FORWARD',
    'iptables-save > /etc/sysconfig/iptables',
  );
  return userData;
}

/** Root volume of a NAT instance: the Amazon Linux 2023 image's own size, so the template states what is billed. */
export const NAT_ROOT_VOLUME_GIB = 8;

/**
 * What NatProvider.instanceV2 does not set: IMDSv2 only and an encrypted gp3 root volume of a known size
 * (Amazon Linux 2023's root device is /dev/xvda), plus the reasons for the AwsSolutions findings it keeps.
 */
function hardenNatInstance(instance: ec2.Instance): void {
  instance.instance.metadataOptions = { httpTokens: 'required', httpEndpoint: 'enabled' };
  instance.instance.blockDeviceMappings = [
    { deviceName: '/dev/xvda', ebs: { volumeSize: NAT_ROOT_VOLUME_GIB, volumeType: 'gp3', encrypted: true, deleteOnTermination: true } },
  ];
  Validations.of(instance).acknowledge(
    {
      id: 'AwsSolutions-EC26',
      reason: 'The root volume is encrypted (BlockDeviceMappings Encrypted true above). The rule dereferences the instance\'s launch template whenever the stack holds one (the fleets\' do), and this instance has none, so it reports a finding that is not there.',
    },
    {
      id: 'AwsSolutions-EC28',
      reason: 'Detailed monitoring bills about $2 a month for 1-minute metrics of a NAT instance that only environments on a tight budget use; 5-minute basic metrics show its CPU and network.',
    },
    {
      id: 'AwsSolutions-EC29',
      reason: 'A NAT instance holds no data and is replaced whenever its image changes; termination protection would make those deployments and cdk destroy fail. EC2 automatic recovery restarts it after a host failure.',
    },
  );
}

function validate(props: NetworkProps): void {
  const problems: string[] = [];
  const zones = props.availabilityZones.length;
  if (zones < 2) problems.push(`availabilityZones ${JSON.stringify(props.availabilityZones)} must list at least 2 zones`);
  if (!Token.isUnresolved(props.natGateways) && (props.natGateways < 1 || props.natGateways > zones)) {
    problems.push(`natGateways ${props.natGateways} must be between 1 and the number of zones (${zones})`);
  }
  if (problems.length > 0) throw new Error(`Network: ${problems.join('; ')}`);
}
