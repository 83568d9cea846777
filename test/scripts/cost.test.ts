// docs/COST.md is what scripts/cost.ts renders from the synthesized templates (no drift), and the
// counts in it come from the templates, not from the config.
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { COST_PATH, costDocFromApp, idleLines, renderCostDoc } from '../../scripts/cost';
import { buildSurgeApp } from '../helpers/app';

jest.setTimeout(60_000);

test('docs/COST.md matches the current templates (regenerate: npm run cost)', () => {
  expect(readFileSync(COST_PATH, 'utf8')).toBe(costDocFromApp());
});

describe('counts come from the templates', () => {
  const surge = buildSurgeApp('dev');
  const regional = Template.fromStack(surge.stack).toJSON().Resources;
  const waf = Template.fromStack(surge.wafStack).toJSON().Resources;
  const count = (lines: ReturnType<typeof idleLines>, prefix: string) => lines.find((l) => l.item.startsWith(prefix))?.count;

  test('instances are the sum of the groups\' minimums, by instance type', () => {
    const lines = idleLines(regional, waf);
    const minimums = Object.values(surge.config.fleets).reduce((n, f) => n + f.minCapacity, 0);
    expect(count(lines, 'EC2 t4g.small')).toBe(minimums);
    expect(count(lines, 'NAT gateways')).toBe(surge.config.network.natGateways);
    expect(count(lines, 'Aurora PostgreSQL')).toBe(surge.config.database.readers + 1);
    expect(count(lines, 'Valkey')).toBe(surge.config.cache.replicasPerShard + 1);
  });

  test('a changed template changes the count', () => {
    const edited = structuredClone(regional);
    const [id] = Object.entries(edited).find(([, r]) => (r as { Type: string }).Type === 'AWS::AutoScaling::AutoScalingGroup')!;
    (edited[id] as { Properties: { MinSize: string } }).Properties.MinSize = '5';
    const before = count(idleLines(regional, waf), 'EC2 t4g.small')!;
    expect(count(idleLines(edited, waf), 'EC2 t4g.small')).toBe(before - 1 + 5);
  });

  test('an instance type without a unit price is an error that names it', () => {
    const edited = structuredClone(regional);
    const [id] = Object.entries(edited).find(([, r]) => (r as { Type: string }).Type === 'AWS::RDS::DBInstance')!;
    (edited[id] as { Properties: { DBInstanceClass: string } }).Properties.DBInstanceClass = 'db.x9.huge';
    expect(() => renderCostDoc({ dev: { regional: edited, waf, region: 'us-west-2' } })).toThrow(/No unit price for rds:db\.x9\.huge/);
  });
});
