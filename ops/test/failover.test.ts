import './support/fake-aws-env';
import { DescribeReplicationGroupsCommand, TestFailoverCommand } from '@aws-sdk/client-elasticache';
import { DescribeEventsCommand, FailoverDBClusterCommand } from '@aws-sdk/client-rds';
import { createAwsClients } from '../aws/clients';
import { failoverCli } from '../failover';
import type { LoadDuringDrill } from '../probe/http-probe';
import type { DrillPhase } from '../probe/latency-summary';
import { captureOutput } from './support/capture';
import { FailoverScenario, redisGroup } from './support/failover-scenario';
import { FakeClock } from './support/fake-clock';
import { awsError, mockHealthyStack, mocks, NOW } from './support/stack';

let clock: FakeClock;
let scenario: FailoverScenario;
const confirm = jest.fn(async () => true);

async function failover(...argv: string[]) {
  const output = captureOutput();
  const code = await failoverCli(argv, { output, clock, confirm, clients: createAwsClients });
  return { code, stdout: output.stdout.join('\n'), stderr: output.stderr.join('\n') };
}

beforeEach(() => {
  mockHealthyStack();
  clock = new FakeClock(NOW);
  scenario = new FailoverScenario(clock);
  confirm.mockClear();
  confirm.mockResolvedValue(true);
});

describe('redis', () => {
  test('fails over the first shard, follows events and reports the time to recover', async () => {
    scenario.redis(20);
    const { code, stdout } = await failover('--env', 'prod', 'redis', '--yes');
    expect(code).toBe(0);
    expect(mocks.elastiCache.commandCalls(TestFailoverCommand)[0].args[0].input).toEqual({
      ReplicationGroupId: 'surge-prod-cache',
      NodeGroupId: '0001',
    });
    expect(confirm).not.toHaveBeenCalled();
    expect(stdout).toContain('Test Failover API called for node group 0001');
    expect(stdout).not.toContain('Unrelated maintenance');
    // Each event is printed once however many times it is read back.
    expect(stdout.match(/Test Failover API called/g)).toHaveLength(1);
    expect(stdout).toMatch(/status \+5s {2}modifying, shard 0001 modifying, primary surge-prod-cache-0001-001/);
    expect(stdout).toContain('recovered in 20.0 s (measured to within the 5.0 s poll interval)');
    expect(stdout).toContain('primary: surge-prod-cache-0001-001 -> surge-prod-cache-0001-002');
  });

  test('reports NOT recovered and exits 1 when the timeout passes first', async () => {
    scenario.redis(3600);
    const { code, stdout } = await failover('--env', 'prod', 'redis', '--yes', '--timeout-minutes', '1', '--poll-seconds', '10');
    expect(code).toBe(1);
    expect(stdout).toContain('NOT recovered after 60.0 s');
    expect(clock.sleeps).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, 10_000]);
  });

  test('refuses to start on a group that is not healthy', async () => {
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [redisGroup('modifying', '001')] });
    const { code, stderr } = await failover('--env', 'prod', 'redis', '--yes');
    expect(code).toBe(1);
    expect(stderr).toMatch(/refusing to fail over ElastiCache replication group surge-prod-cache: it is modifying/);
    expect(mocks.elastiCache.commandCalls(TestFailoverCommand)).toHaveLength(0);
  });

  test('a missing TestFailover permission is named, exit 3', async () => {
    scenario.redis(20);
    mocks.elastiCache.on(TestFailoverCommand).rejects(awsError('AccessDenied'));
    const { code, stderr } = await failover('--env', 'prod', 'redis', '--yes');
    expect(code).toBe(3);
    expect(stderr).toMatch(/^error: missing permission elasticache:TestFailover/);
  });
});

describe('aurora', () => {
  test('fails over the cluster after confirmation and reports the new writer', async () => {
    scenario.aurora(35);
    const { code, stdout } = await failover('--env', 'prod', 'aurora');
    expect(code).toBe(0);
    expect(confirm).toHaveBeenCalledWith('This fails over Aurora cluster surge-prod-db in prod (rds:FailoverDBCluster).', 'prod');
    expect(mocks.rds.commandCalls(FailoverDBClusterCommand)[0].args[0].input).toEqual({ DBClusterIdentifier: 'surge-prod-db' });
    expect(mocks.rds.commandCalls(DescribeEventsCommand)[0].args[0].input).toMatchObject({
      SourceType: 'db-cluster',
      SourceIdentifier: 'surge-prod-db',
    });
    expect(stdout).toContain('Started cross AZ failover to DB instance: surge-prod-db-reader-1');
    expect(stdout).toMatch(/status \+5s {2}failing-over/);
    expect(stdout).toContain('recovered in 35.0 s');
    expect(stdout).toContain('primary: surge-prod-db-writer -> surge-prod-db-reader-1');
  });

  test('declining the confirmation changes nothing', async () => {
    scenario.aurora(35);
    confirm.mockResolvedValue(false);
    const { code, stderr } = await failover('--env', 'prod', 'aurora');
    expect(code).toBe(1);
    expect(stderr).toBe('aborted: not confirmed');
    expect(mocks.rds.commandCalls(FailoverDBClusterCommand)).toHaveLength(0);
  });
});

test('--url runs load through the drill and reports each phase', async () => {
  scenario.redis(20);
  const phases: DrillPhase[] = [];
  let probed: string | undefined;
  const load = (options: { url: string }): LoadDuringDrill => {
    probed = options.url;
    return {
      setPhase: (phase) => phases.push(phase),
      stop: async () => [
        { phase: 'before', requests: 300, errors: 0, errorRate: 0, p99Ms: 41 },
        { phase: 'during', requests: 200, errors: 7, errorRate: 0.035, p99Ms: 2300 },
        { phase: 'after', requests: 300, errors: 0, errorRate: 0, p99Ms: 44 },
      ],
    };
  };
  const output = captureOutput();
  const code = await failoverCli(['--env', 'prod', 'redis', '--yes', '--url', 'https://shop.example.com/api/products'], {
    output,
    clock,
    confirm,
    clients: createAwsClients,
    load,
  });
  expect(code).toBe(0);
  expect(probed).toBe('https://shop.example.com/api/products');
  expect(phases).toEqual(['during', 'after']);
  // Baseline before the trigger, settle after recovery: both 30 s by default.
  expect(clock.sleeps[0]).toBe(30_000);
  expect(clock.sleeps.at(-1)).toBe(30_000);
  const stdout = output.stdout.join('\n');
  expect(stdout).toMatch(/^during\s+200\s+7\s+3\.5%\s+2300 ms$/m);
  expect(stdout).toMatch(/^before\s+300\s+0\s+0\.0%\s+41 ms$/m);
});

describe('command line errors exit 2', () => {
  test.each([
    [['--env', 'prod'], /expected one target, redis or aurora; got none/],
    [['--env', 'prod', 'postgres'], /got postgres/],
    [['--env', 'prod', 'redis', 'aurora'], /got redis aurora/],
    [['redis'], /--env is required/],
    [['--env', 'prod', 'redis', '--poll-seconds', '0'], /--poll-seconds must be a positive number, got "0"/],
    [['--env', 'prod', 'redis', '--url', 'shop.example.com'], /--url must be an http\(s\) URL/],
  ])('%j', async (argv, message) => {
    const { code, stderr } = await failover(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run failover/);
    expect(mocks.elastiCache.calls()).toHaveLength(0);
    expect(mocks.rds.calls()).toHaveLength(0);
  });
});
