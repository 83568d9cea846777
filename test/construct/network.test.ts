// Network: subnet tiers per AZ, NAT gateways or NAT instances, flow logs, endpoints, and prop validation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Network, type NetworkProps } from '../../lib/construct/network';
import { constructTestStack } from '../helpers/app';
import { needsRealEngine } from '../../services/test-support/engines';

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

  describe('with NAT instances', () => {
    const template = synth({ availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 1, natInstanceType: new ec2.InstanceType('t4g.nano') });

    test('one arm64 Amazon Linux 2023 instance forwards egress instead of a NAT gateway', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::Instance', 1);
      template.hasResourceProperties('AWS::EC2::Instance', {
        InstanceType: 't4g.nano',
        SourceDestCheck: false,
        ImageId: { Ref: Match.stringLikeRegexp('^SsmParameterValueawsserviceamiamazonlinuxlatestal2023amikernel61arm64') },
      });
      // Both private subnets route to it.
      const instanceId = Object.keys(template.findResources('AWS::EC2::Instance'))[0];
      const defaultRoutes = Object.values(template.findResources('AWS::EC2::Route')).filter((r) => r.Properties.InstanceId?.Ref === instanceId);
      expect(defaultRoutes.map((r) => r.Properties.DestinationCidrBlock)).toEqual(['0.0.0.0/0', '0.0.0.0/0']);
    });

    test('it has a public address, IMDSv2 only and an encrypted 8 GiB gp3 root volume', () => {
      template.hasResourceProperties('AWS::EC2::Instance', {
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true, DeviceIndex: '0' })],
        MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }],
      });
    });

    describe('its boot script', () => {
      const [instance] = Object.values(template.findResources('AWS::EC2::Instance'));
      const script: string = instance.Properties.UserData['Fn::Base64'];

      test('retries the iptables install, masquerades out of the default-route interface and saves the rules for reboots', () => {
        expect(script.split('\n').slice(0, 2)).toEqual(['#!/bin/bash', 'set -euo pipefail']);
        expect(script).toMatch(/for attempt in \$\(seq 1 30\); do dnf install -y iptables-services && break;/);
        expect(script).toMatch(/^rpm -q iptables-services$/m);
        expect(script).toMatch(/^echo 'net\.ipv4\.ip_forward = 1' > \/etc\/sysctl\.d\/90-nat\.conf$/m);
        expect(script).toMatch(/ip -4 route show default/);
        expect(script).toMatch(/^iptables -t nat -A POSTROUTING -o "\$egress_interface" -j MASQUERADE$/m);
        expect(script.trim().split('\n').at(-1)).toBe('iptables-save > /etc/sysconfig/iptables');
      });

      needsRealEngine('shellcheck', 'it lints the script with shellcheck; nothing stands in for it')('lint', () => {
        test('passes shellcheck', () => {
          const found = spawnSync('shellcheck', ['--version']);
          if (found.error) throw new Error('shellcheck is not installed: apt-get update && apt-get install -y shellcheck');
          const file = join(mkdtempSync(join(tmpdir(), 'surge-nat-')), 'user-data.sh');
          writeFileSync(file, `${script}\n`);
          const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], { encoding: 'utf8' });
          expect(result.stdout + result.stderr).toBe('');
          expect(result.status).toBe(0);
        });
      });
    });

    test('its security group admits TCP from the VPC only and nothing from the internet', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: 'Security Group for NAT instances',
        SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.0.0.0/16', IpProtocol: 'tcp', FromPort: 0, ToPort: 65535 })],
      });
    });
  });

  test('rejects a single AZ', () => {
    expect(() => synth({ availabilityZones: ['us-west-2a'], natGateways: 1 })).toThrow(/must list at least 2 zones/);
  });
});
