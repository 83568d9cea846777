import './support/fake-aws-env';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeDBClustersCommand } from '@aws-sdk/client-rds';
import { GetDistributionCommand } from '@aws-sdk/client-cloudfront';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsClients } from '../aws/clients';
import { progressLine } from '../cli/progress';
import { preflightCli } from '../preflight';
import { captureOutput } from './support/capture';
import { awsError, HEALTHY_CLUSTER, mockHealthyStack, mocks, mockStackOutputs, NOW, OUTPUTS } from './support/stack';

const silentProgress = { update: jest.fn(), done: jest.fn() };

async function preflight(...argv: string[]) {
  const output = captureOutput();
  const code = await preflightCli(argv, { output, progress: silentProgress, now: () => NOW, clients: createAwsClients });
  return { code, stdout: output.stdout.join('\n'), stderr: output.stderr.join('\n') };
}

beforeEach(() => {
  mockHealthyStack();
  silentProgress.update.mockClear();
  silentProgress.done.mockClear();
});

test('a ready stack prints a passing table and exits 0', async () => {
  const { code, stdout, stderr } = await preflight('--env', 'prod', '--sale', 'black-friday-2027');
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout.split('\n');
  expect(lines[0]).toMatch(/^CHECK\s+EXPECTED\s+FOUND\s+VERDICT$/);
  expect(lines[1]).toMatch(/^-+ {2}-+ {2}-+ {2}-+$/);
  expect(stdout).toMatch(/^cache status\s+available\s+available\s+PASS$/m);
  expect(stdout).toMatch(/^order pre-warm for black-friday-2027\s+min >= 12 before 2027-11-26T05:00:00.000Z\s+min 12 at 2027-11-26T04:15:00.000Z\s+PASS$/m);
  expect(lines.at(-1)).toBe('26 passed, 0 failed, 0 skipped');
  expect(mocks.cloudFormation.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'Surge-prod' });
});

test('the app stack is read in the config region and the WAF stack in us-east-1', async () => {
  await preflight('--env', 'prod');
  const calls = mocks.cloudFormation.commandCalls(DescribeStacksCommand);
  const regions = await Promise.all(calls.map(async (call) => [call.args[0].input.StackName, await call.thisValue.config.region()]));
  expect(regions).toEqual([
    ['Surge-prod', 'us-west-2'],
    ['Surge-prod-Waf', 'us-east-1'],
  ]);
});

test('--json prints one machine-readable report', async () => {
  const { code, stdout } = await preflight('--env', 'prod', '--json');
  expect(code).toBe(0);
  const report = JSON.parse(stdout);
  expect(report).toMatchObject({ env: 'prod', sale: 'black-friday-2027', checkedAt: '2027-11-20T12:00:00.000Z', ok: true });
  expect(report.checks).toHaveLength(26);
  expect(report.checks[0]).toEqual({ check: 'cache status', expected: 'available', found: 'available', verdict: 'pass' });
});

test('one failing check makes the verdict FAIL and the exit code 1', async () => {
  mocks.cloudFront.on(GetDistributionCommand).resolves({ Distribution: { Status: 'InProgress', DistributionConfig: { Enabled: true } } as never });
  const { code, stdout } = await preflight('--env', 'prod', '--json');
  expect(code).toBe(1);
  const report = JSON.parse(stdout);
  expect(report.ok).toBe(false);
  expect(report.checks.filter((c: { verdict: string }) => c.verdict === 'fail')).toEqual([
    { check: 'cloudfront status', expected: 'Deployed', found: 'InProgress', verdict: 'fail' },
  ]);
});

test('a group denied access becomes a failing row naming the permission; the others still run', async () => {
  mocks.rds.on(DescribeDBClustersCommand).rejects(awsError('AccessDenied'));
  const { code, stdout } = await preflight('--env', 'prod');
  expect(code).toBe(1);
  expect(stdout).toMatch(/^database checks\s+AWS queries succeed\s+missing permission rds:DescribeDBClusters .*FAIL$/m);
  expect(stdout).toMatch(/^cache status .*PASS$/m);
});

test('a stack without one of the outputs fails that group, naming the key', async () => {
  mockStackOutputs(Object.fromEntries(Object.entries(OUTPUTS).filter(([key]) => key !== 'DistributionId')));
  const { code, stdout } = await preflight('--env', 'prod');
  expect(code).toBe(1);
  expect(stdout).toMatch(/^edge checks\s+AWS queries succeed\s+stack output DistributionId not found in Surge-prod \(us-west-2\), Surge-prod-Waf \(us-east-1\)/m);
});

test('no permission to read the stack stops with the missing action and exit 3', async () => {
  mocks.cloudFormation.on(DescribeStacksCommand).rejects(awsError('AccessDenied'));
  const { code, stdout, stderr } = await preflight('--env', 'prod');
  expect(code).toBe(3);
  expect(stdout).toBe('');
  expect(stderr).toMatch(/^error: missing permission cloudformation:DescribeStacks/);
  expect(silentProgress.done).toHaveBeenCalled();
});

test('throttling while reading the stack says so and exits 3', async () => {
  mocks.cloudFormation.on(DescribeStacksCommand).rejects(awsError('Throttling', 'Rate exceeded'));
  const { code, stderr } = await preflight('--env', 'prod');
  expect(code).toBe(3);
  expect(stderr).toMatch(/AWS throttled cloudformation:DescribeStacks \(Throttling\)/);
});

test('a stack that does not exist is named', async () => {
  mocks.cloudFormation
    .on(DescribeStacksCommand)
    .rejects(awsError('ValidationError', 'Stack with id Surge-prod does not exist'));
  const { code, stderr } = await preflight('--env', 'prod', '--region', 'eu-west-1');
  expect(code).toBe(3);
  expect(stderr).toMatch(/stack Surge-prod does not exist in eu-west-1 in this account/);
});

test('--stack reads another stack', async () => {
  await preflight('--env', 'prod', '--stack', 'Surge-prod-blue');
  expect(mocks.cloudFormation.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'Surge-prod-blue' });
});

test('--capacity-plan raises the max capacity the fleets must allow', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'surge-plan-'));
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ order: 40 }));
  const { code, stdout } = await preflight('--env', 'prod', '--capacity-plan', join(dir, 'plan.json'));
  expect(code).toBe(1);
  expect(stdout).toMatch(/^order max capacity\s+>= 40\s+30\s+FAIL$/m);

  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ checkout: 4 }));
  const bad = await preflight('--env', 'prod', '--capacity-plan', join(dir, 'bad.json'));
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/unknown fleet "checkout"/);
});

test('progress is reported while querying and cleared before printing', async () => {
  await preflight('--env', 'prod');
  expect(silentProgress.update).toHaveBeenCalledWith('reading outputs of Surge-prod, Surge-prod-Waf...');
  expect(silentProgress.update).toHaveBeenCalledWith('checked 0/6, waiting for cache, database, queues, scaling, edge, firewall');
  expect(silentProgress.update).toHaveBeenLastCalledWith('checked 6/6');
  expect(silentProgress.done).toHaveBeenCalledTimes(1);
});

describe('command line errors exit 2 with the usage', () => {
  test.each([
    [[], /--env is required/],
    [['--env', 'staging'], /Unknown environment "staging".*dev, prod/],
    [['--env', 'prod', '--sale', 'cyber-monday'], /unknown sale "cyber-monday"; the config lists: black-friday-2027/],
    [['--env', 'prod', 'extra'], /unexpected argument extra/],
    [['--env', 'prod', '--verbose'], /Unknown option '--verbose'/],
    [['--env'], /argument missing/],
  ])('%j', async (argv, message) => {
    const { code, stderr } = await preflight(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run preflight/);
    expect(mocks.cloudFormation.calls()).toHaveLength(0);
  });

  test('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await preflight('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: npm run preflight/);
  });
});

describe('progress line', () => {
  function fakeStream(isTTY: boolean) {
    const writes: string[] = [];
    return { stream: { isTTY, columns: 40, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream, writes };
  }

  test('draws and erases on a terminal, truncated to its width', () => {
    const { stream, writes } = fakeStream(true);
    const line = progressLine(stream);
    line.update('checking 1/6: waiting for cache, database, queues');
    line.done();
    expect(writes).toEqual(['\r\x1b[2Kchecking 1/6: waiting for cache, databa', '\r\x1b[2K']);
  });

  test('writes nothing when stderr is not a terminal', () => {
    const { stream, writes } = fakeStream(false);
    const line = progressLine(stream);
    line.update('checking');
    line.done();
    expect(writes).toEqual([]);
  });
});

test('the healthy cluster fixture is what the database check read', () => {
  // Guards the fixtures: the prod config expects the two readers the healthy cluster has.
  expect(HEALTHY_CLUSTER.DBClusterMembers.filter((m) => !m.IsClusterWriter)).toHaveLength(2);
});
