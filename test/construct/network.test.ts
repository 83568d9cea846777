// Network: subnet tiers per AZ, NAT gateways, flow logs, endpoints, and prop validation.
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Network, type NetworkProps } from '../../lib/construct/network';
import { constructTestStack } from '../helpers/app';

const base: NetworkProps = {
  cidr: '10.0.0.0/16',
  availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'],
  natGateways: 3,
  flowLogRetention: logs.RetentionDays.THREE_MONTHS,
};

function synth(props: Partial<NetworkProps> = {}): Template {
  const stack = constructTestStack();
  new Network(stack, 'Network', { ...base, ...props });
  return Template.fromStack(stack);
}

describe('Network', () => {
  test('public, private-with-egress and isolated subnets in each configured AZ', () => {
    const template = synth();
    template.resourceCountIs('AWS::EC2::Subnet', 9);
    for (const az of base.availabilityZones) {
      for (const tier of ['public', 'private', 'isolated']) {
        template.hasResourceProperties('AWS::EC2::Subnet', {
          AvailabilityZone: az,
          Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-name', Value: tier }]),
        });
      }
    }
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
  });

  test('one NAT gateway per AZ when asked, one shared when not', () => {
    synth().resourceCountIs('AWS::EC2::NatGateway', 3);
    synth({ availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 1 }).resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  test('isolated subnets have no route to the internet', () => {
    const template = synth();
    const isolatedTables = Object.entries(template.findResources('AWS::EC2::RouteTable')).filter(([id]) => /isolated/i.test(id));
    expect(isolatedTables).toHaveLength(3);
    const routes = template.findResources('AWS::EC2::Route');
    for (const [tableId] of isolatedTables) {
      expect(Object.values(routes).filter((r) => r.Properties.RouteTableId?.Ref === tableId)).toEqual([]);
    }
  });

  test('flow logs of all traffic go to a log group with retention', () => {
    const template = synth();
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs', ResourceType: 'VPC' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('an S3 gateway endpoint always; interface endpoints only when configured', () => {
    const without = synth();
    without.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
    without.resourceCountIs('AWS::EC2::VPCEndpoint', 1);

    const withSqs = synth({ interfaceEndpoints: ['sqs', 'logs'] });
    withSqs.resourceCountIs('AWS::EC2::VPCEndpoint', 3);
    withSqs.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface', ServiceName: 'com.amazonaws.us-west-2.sqs', PrivateDnsEnabled: true });
    withSqs.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface', ServiceName: 'com.amazonaws.us-west-2.logs' });
    // Endpoints admit HTTPS from the VPC's CIDR only.
    withSqs.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Surge interface endpoints: HTTPS from inside the VPC',
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443 })],
    });
  });

  test('a /17 holds all subnet tiers of three AZs (the smallest CIDR the config accepts)', () => {
    synth({ cidr: '10.0.0.0/17' }).resourceCountIs('AWS::EC2::Subnet', 9);
  });

  test('rejects more NAT gateways than AZs', () => {
    expect(() => synth({ natGateways: 4 })).toThrow(/natGateways 4 must be between 1 and the number of zones \(3\)/);
  });

  test('rejects a single AZ', () => {
    expect(() => synth({ availabilityZones: ['us-west-2a'], natGateways: 1 })).toThrow(/must list at least 2 zones/);
  });
});
