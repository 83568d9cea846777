// The VPC every Surge resource lives in: public subnets for the ALB and NAT gateways, private
// subnets with egress for the fleets, isolated subnets for Aurora and Redis; flow logs; an S3
// gateway endpoint and optional interface endpoints.
import { RemovalPolicy, Token } from 'aws-cdk-lib';
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
  /** NAT gateways, between 1 and the number of zones; with fewer than one per zone, zones share them. */
  readonly natGateways: number;
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

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    validate(props);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: [...props.availabilityZones],
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // The S3 gateway endpoint costs nothing and keeps package, asset and log traffic off the NAT.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });

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

function validate(props: NetworkProps): void {
  const problems: string[] = [];
  const zones = props.availabilityZones.length;
  if (zones < 2) problems.push(`availabilityZones ${JSON.stringify(props.availabilityZones)} must list at least 2 zones`);
  if (!Token.isUnresolved(props.natGateways) && (props.natGateways < 1 || props.natGateways > zones)) {
    problems.push(`natGateways ${props.natGateways} must be between 1 and the number of zones (${zones})`);
  }
  if (problems.length > 0) throw new Error(`Network: ${problems.join('; ')}`);
}
