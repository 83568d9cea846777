import './support/fake-aws-env';
import { DescribeReplicationGroupsCommand, TestFailoverCommand } from '@aws-sdk/client-elasticache';
import { DescribeEventsCommand, FailoverDBClusterCommand } from '@aws-sdk/client-rds';
import { createAwsClients } from '../aws/clients';
import { failoverCli } from '../failover';
import type { LoadDuringDrill } from '../failover/drill';
import type { DrillPhase, PhaseSummary } from '../probe/latency-summary';
import type { DrillLoadOptions } from '../probe/scenario-load';
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

describe('--url: load through the drill', () => {
  const phases: DrillPhase[] = [];
  let started: DrillLoadOptions | undefined;
  let stopped = 0;
  const fakeLoad = async (options: DrillLoadOptions): Promise<LoadDuringDrill> => {
    started = options;
    return {
      setPhase: (phase) => phases.push(phase),
      stop: async (): Promise<PhaseSummary[]> => {
        stopped++;
        return [
          { phase: 'before', requests: 150, errors: 0, errorRate: 0, errorKinds: {}, p50Ms: 38, p99Ms: 41 },
          { phase: 'during', requests: 200, errors: 7, errorRate: 0.035, errorKinds: { '503': 5, timeout: 2 }, p50Ms: 40, p99Ms: 2300 },
          { phase: 'after', requests: 150, errors: 0, errorRate: 0, errorKinds: {}, p50Ms: 37, p99Ms: 44 },
        ];
      },
    };
  };
  async function drill(...argv: string[]) {
    const output = captureOutput();
    const code = await failoverCli(argv, { output, clock, confirm, clients: createAwsClients, load: fakeLoad });
    return { code, stdout: output.stdout.join('\n'), stderr: output.stderr.join('\n') };
  }

  beforeEach(() => {
    phases.length = 0;
    started = undefined;
    stopped = 0;
  });

  test('runs the browse scenario at a modest capped rate and reports each phase', async () => {
    scenario.redis(20);
    const { code, stdout, stderr } = await drill('--env', 'prod', 'redis', '--yes', '--url', 'https://shop.example.com');
    expect(code).toBe(0);
    // Bounded even if stop() were never called: baseline 30 s + timeout 15 min + settle 30 s + 10 s.
    expect(started).toEqual({ url: 'https://shop.example.com', scenario: 'browse', ratePerSecond: 5, connections: 10, maxDurationMs: 970_000 });
    expect(phases).toEqual(['during', 'after']);
    expect(stopped).toBe(1);
    // Baseline before the trigger, settle after recovery: both 30 s by default.
    expect(clock.sleeps[0]).toBe(30_000);
    expect(clock.sleeps.at(-1)).toBe(30_000);
    expect(stdout).toContain('failing over ElastiCache replication group surge-prod-cache, browse load on https://shop.example.com at 5/s');
    expect(stdout).toMatch(/^PHASE\s+REQUESTS\s+ERRORS\s+ERROR RATE\s+P50\s+P99\s+ERROR KINDS$/m);
    expect(stdout).toMatch(/^before\s+150\s+0\s+0\.0%\s+38 ms\s+41 ms\s+-$/m);
    expect(stdout).toMatch(/^during\s+200\s+7\s+3\.5%\s+40 ms\s+2300 ms\s+503:5 timeout:2$/m);
    // 5/s is 1500 requests per 300 s, half of prod's WAF limit: no warning.
    expect(stderr).toBe('');
  });

  test('passes --scenario, --rate and --connections on, and the load is stopped when the drill times out', async () => {
    scenario.redis(3600);
    const { code, stdout } = await drill(
      ...['--env', 'prod', 'redis', '--yes', '--url', 'http://localhost:3000/', '--scenario', 'checkout', '--rate', '8'],
      ...['--connections', '4', '--timeout-minutes', '1', '--baseline-seconds', '5', '--settle-seconds', '5'],
    );
    expect(code).toBe(1);
    expect(started).toEqual({ url: 'http://localhost:3000', scenario: 'checkout', ratePerSecond: 8, connections: 4, maxDurationMs: 80_000 });
    expect(stopped).toBe(1);
    expect(stdout).toContain('NOT recovered after 60.0 s');
    expect(stdout).toMatch(/^after\s+150\s+0/m);
  });

  test('the load is stopped when the drill is refused', async () => {
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [redisGroup('modifying', '001')] });
    const { code } = await drill('--env', 'prod', 'redis', '--yes', '--url', 'https://shop.example.com');
    expect(code).toBe(1);
    expect(stopped).toBe(1);
  });

  test('a rate above the WAF per-IP limit is warned about, with the rate that stays under it', async () => {
    scenario.redis(20);
    const { code, stderr } = await drill('--env', 'prod', 'redis', '--yes', '--url', 'https://shop.example.com', '--rate', '20');
    expect(code).toBe(0);
    expect(stderr).toBe(
      "warning: at 20 requests/s the drill sends 6000 requests per 300 s from this IP, above prod's WAF limit of 3000: expect 403s from the WAF once it counts them (--rate 10 stays under it)",
    );
  });

  test('no load starts when the confirmation is declined', async () => {
    scenario.redis(20);
    confirm.mockResolvedValue(false);
    const { code } = await drill('--env', 'prod', 'redis', '--url', 'https://shop.example.com');
    expect(code).toBe(1);
    expect(started).toBeUndefined();
  });
});

describe('command line errors exit 2', () => {
  test.each([
    [['--env', 'prod'], /expected one target, redis or aurora; got none/],
    [['--env', 'prod', 'postgres'], /got postgres/],
    [['--env', 'prod', 'redis', 'aurora'], /got redis aurora/],
    [['redis'], /--env is required/],
    [['--env', 'prod', 'redis', '--poll-seconds', '0'], /--poll-seconds must be a positive number, got "0"/],
    [['--env', 'prod', 'redis', '--url', 'shop.example.com'], /--url must be an http\(s\) URL, got "shop.example.com"/],
    [['--env', 'prod', 'redis', '--url', 'https://shop.example.com/api/products'], /--url must be the site's base URL without a path/],
    [['--env', 'prod', 'redis', '--url', 'https://shop.example.com', '--scenario', 'flash-sale'], /--scenario must be browse or checkout, got "flash-sale"/],
    [['--env', 'prod', 'redis', '--url', 'https://shop.example.com', '--rate', '0'], /--rate must be a whole number from 1 to 1000, got "0"/],
    [['--env', 'prod', 'redis', '--url', 'https://shop.example.com', '--rate', '2.5'], /--rate must be a whole number from 1 to 1000, got "2.5"/],
    [['--env', 'prod', 'redis', '--url', 'https://shop.example.com', '--connections', 'many'], /--connections must be a whole number from 1 to 1000, got "many"/],
    [['--env', 'prod', 'redis', '--rate', '5'], /--rate needs --url/],
    [['--env', 'prod', 'redis', '--scenario', 'browse'], /--scenario needs --url/],
    [['--env', 'prod', 'redis', '--url', 'https://shop.example.com', '--probe-rate', '10'], /Unknown option '--probe-rate'/],
  ])('%j', async (argv, message) => {
    const { code, stderr } = await failover(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run failover/);
    expect(mocks.elastiCache.calls()).toHaveLength(0);
    expect(mocks.rds.calls()).toHaveLength(0);
  });
});
