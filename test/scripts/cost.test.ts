// docs/COST.md is what scripts/cost.ts renders from the synthesized templates (no drift), and the
// counts in it come from the templates, not from the config.
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { COST_PATH, costDocFromApp, DEV_IDLE_GOAL_USD, idleLines, renderCostDoc, total } from '../../scripts/cost';
import { NAT_ROOT_VOLUME_GIB } from '../../lib/construct/network';
import { buildSurgeApp } from '../helpers/app';

jest.setTimeout(60_000);

test('docs/COST.md matches the current templates (regenerate: npm run cost)', () => {
  expect(readFileSync(COST_PATH, 'utf8')).toBe(costDocFromApp());
});

// Both tests below only read dev's templates: one app for both.
const surge = buildSurgeApp('dev');
const regional = Template.fromStack(surge.stack).toJSON().Resources;
const waf = Template.fromStack(surge.wafStack).toJSON().Resources;

test(`dev at idle stays within its goal of $${DEV_IDLE_GOAL_USD} a month`, () => {
  const lines = idleLines(regional, waf);
  expect(total(lines)).toBeLessThanOrEqual(DEV_IDLE_GOAL_USD);
});

describe('counts come from the templates', () => {
  const count = (lines: ReturnType<typeof idleLines>, prefix: string) => lines.find((l) => l.item.startsWith(prefix))?.count;

  const fleetLine = `EC2 ${surge.config.fleets.user.instanceType} (fleet minimums)`;

  test('instances are the sum of the groups\' minimums, by instance type', () => {
    const lines = idleLines(regional, waf);
    const minimums = Object.values(surge.config.fleets).reduce((n, f) => n + f.minCapacity, 0);
    expect(count(lines, fleetLine)).toBe(minimums);
    expect(count(lines, 'Aurora PostgreSQL')).toBe(surge.config.database.readers + 1);
    expect(count(lines, 'Valkey')).toBe(surge.config.cache.replicasPerShard + 1);
  });

  test('dev\'s NAT instance counts as an instance, its root volume and its public address, not as a NAT gateway', () => {
    const lines = idleLines(regional, waf);
    const nat = surge.config.network;
    expect(count(lines, 'NAT gateways')).toBeUndefined();
    expect(count(lines, `EC2 ${nat.natInstanceType} (NAT instances)`)).toBe(nat.natGateways);
    expect(count(lines, `EBS gp3 root volumes (GB, ${nat.natInstanceType} NAT instances)`)).toBe(NAT_ROOT_VOLUME_GIB * nat.natGateways);
    // One per NAT instance plus one per ALB subnet (one subnet per AZ).
    expect(count(lines, 'Public IPv4 addresses')).toBe(nat.natGateways + surge.config.availabilityZones.length);
  });

  test('prod\'s NAT gateways count as gateways with a public address each', () => {
    const prod = buildSurgeApp('prod');
    const lines = idleLines(Template.fromStack(prod.stack).toJSON().Resources, Template.fromStack(prod.wafStack).toJSON().Resources);
    expect(count(lines, 'NAT gateways')).toBe(prod.config.network.natGateways);
    expect(lines.some((l) => l.item.includes('NAT instances'))).toBe(false);
    expect(count(lines, 'Public IPv4 addresses')).toBe(prod.config.network.natGateways + prod.config.availabilityZones.length);
  });

  test('a changed template changes the count', () => {
    const edited = structuredClone(regional);
    const [id] = Object.entries(edited).find(([, r]) => (r as { Type: string }).Type === 'AWS::AutoScaling::AutoScalingGroup')!;
    (edited[id] as { Properties: { MinSize: string } }).Properties.MinSize = '5';
    const before = count(idleLines(regional, waf), fleetLine)!;
    expect(count(idleLines(edited, waf), fleetLine)).toBe(before - 1 + 5);
  });

  test('an instance whose template does not state its volume sizes is an error that names it', () => {
    const edited = structuredClone(regional);
    const [id, instance] = Object.entries(edited).find(([, r]) => (r as { Type: string }).Type === 'AWS::EC2::Instance')!;
    delete (instance as { Properties: { BlockDeviceMappings?: unknown } }).Properties.BlockDeviceMappings;
    expect(() => idleLines(edited, waf)).toThrow(new RegExp(`EC2 instance ${id} does not state its EBS volume sizes`));
  });

  test('an instance type without a unit price is an error that names it', () => {
    const edited = structuredClone(regional);
    const [id] = Object.entries(edited).find(([, r]) => (r as { Type: string }).Type === 'AWS::RDS::DBInstance')!;
    (edited[id] as { Properties: { DBInstanceClass: string } }).Properties.DBInstanceClass = 'db.x9.huge';
    expect(() => renderCostDoc({ dev: { regional: edited, waf, region: 'us-west-2' } })).toThrow(/No unit price for rds:db\.x9\.huge/);
  });
});
