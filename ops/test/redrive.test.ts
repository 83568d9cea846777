import './support/fake-aws-env';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ListMessageMoveTasksCommand, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../aws/clients';
import { redriveCli } from '../redrive';
import { captureOutput } from './support/capture';
import { FakeClock } from './support/fake-clock';
import { DLQ_ARN, dlqVisible, mockMoveTask, mockQueues, SOURCE_ARN } from './support/redrive-scenario';
import { awsError, mockHealthyStack, mocks, NOW } from './support/stack';

let clock: FakeClock;

async function redrive(...argv: string[]) {
  const output = captureOutput();
  const code = await redriveCli(argv, { output, clock, clients: createAwsClients });
  return { code, stdout: output.stdout.join('\n'), stderr: output.stderr.join('\n') };
}

beforeEach(() => {
  mockHealthyStack();
  clock = new FakeClock(NOW);
  mockQueues(10);
  dlqVisible([10, 10, 10, 10]);
  mockMoveTask(3);
});

test('moves the dead letters back to their source queue and follows the task to completion', async () => {
  const { code, stdout } = await redrive('--env', 'prod', 'order-placed');
  expect(code).toBe(0);
  expect(mocks.sqs.commandCalls(StartMessageMoveTaskCommand)[0].args[0].input).toEqual({
    SourceArn: DLQ_ARN,
    DestinationArn: SOURCE_ARN,
    MaxNumberOfMessagesPerSecond: undefined,
  });
  expect(stdout.split('\n')).toEqual([
    'surge-prod-order-placed-dlq: visible messages did not rise in the last 15 min: 10 to 10 (peak 10)',
    '  RUNNING  3/10 moved',
    '  RUNNING  6/10 moved',
    '  COMPLETED  10/10 moved',
    'COMPLETED: 10 messages moved from surge-prod-order-placed-dlq to surge-prod-order-placed in 15 s',
  ]);
  const query = mocks.cloudWatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries![0];
  expect(query.MetricStat!.Metric).toEqual({
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: 'surge-prod-order-placed-dlq' }],
  });
});

test('refuses while the DLQ is still receiving failures', async () => {
  dlqVisible([2, 2, 5, 10]);
  const { code, stderr } = await redrive('--env', 'prod', 'order-placed');
  expect(code).toBe(1);
  expect(stderr).toBe(
    'error: refusing to redrive surge-prod-order-placed-dlq: it is still receiving failures ' +
      '(visible messages rose from 2 to 10 (peak 10) in the last 15 min). Fix the consumer first, or pass --force to redrive anyway.',
  );
  expect(mocks.sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
});

test('--force redrives anyway and says so', async () => {
  dlqVisible([2, 2, 5, 10]);
  const { code, stdout } = await redrive('--env', 'prod', 'order-placed-dlq', '--force', '--max-per-second', '50');
  expect(code).toBe(0);
  expect(stdout).toContain('rose from 2 to 10 (peak 10) in the last 15 min (--force: redriving anyway)');
  expect(mocks.sqs.commandCalls(StartMessageMoveTaskCommand)[0].args[0].input.MaxNumberOfMessagesPerSecond).toBe(50);
});

test('an empty DLQ is left alone', async () => {
  mockQueues(0);
  const { code, stdout } = await redrive('--env', 'prod', 'order-placed');
  expect(code).toBe(0);
  expect(stdout).toBe('surge-prod-order-placed-dlq is empty: nothing to redrive');
  expect(mocks.cloudWatch.calls()).toHaveLength(0);
  expect(mocks.sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
});

test('a move already running is not started twice', async () => {
  mocks.sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 7 }] });
  const { code, stderr } = await redrive('--env', 'prod', 'order-placed');
  expect(code).toBe(1);
  expect(stderr).toMatch(/already running \(7 moved so far\)/);
  expect(mocks.sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
});

test('a failed move task exits 1 with its reason', async () => {
  mockMoveTask(2, 'FAILED', 'AWS.SimpleQueueService.NonExistentQueue');
  const { code, stdout } = await redrive('--env', 'prod', 'order-placed');
  expect(code).toBe(1);
  expect(stdout).toMatch(/^FAILED: 10 messages moved .* \(AWS.SimpleQueueService.NonExistentQueue\)$/m);
});

test('stops following at the timeout and says the move continues', async () => {
  mockMoveTask(1000);
  const { code, stdout } = await redrive('--env', 'prod', 'order-placed', '--timeout-minutes', '1', '--poll-seconds', '20');
  expect(code).toBe(1);
  expect(stdout).toMatch(/still running after 60 s \(9 moved\); SQS continues the move/);
});

test('a missing StartMessageMoveTask permission is named, exit 3', async () => {
  mocks.sqs.on(StartMessageMoveTaskCommand).rejects(awsError('AccessDeniedException'));
  const { code, stderr } = await redrive('--env', 'prod', 'payment-result');
  // payment-result's DLQ is empty in this fixture: nothing to start, so no permission needed.
  expect(code).toBe(0);
  expect(stderr).toBe('');
  const order = await redrive('--env', 'prod', 'order-placed');
  expect(order.code).toBe(3);
  expect(order.stderr).toMatch(/^error: missing permission sqs:StartMessageMoveTask/);
});

test('throttled CloudWatch reads are reported as such', async () => {
  mocks.cloudWatch.reset();
  mocks.cloudWatch.rejects(awsError('Throttling'));
  const { code, stderr } = await redrive('--env', 'prod', 'order-placed');
  expect(code).toBe(3);
  expect(stderr).toMatch(/AWS throttled cloudwatch:GetMetricData/);
});

describe('command line errors exit 2', () => {
  test.each([
    [['--env', 'prod'], /expected one queue, order-placed or payment-result; got none/],
    [['--env', 'prod', 'orders'], /got orders/],
    [['order-placed'], /--env is required/],
    [['--env', 'prod', 'order-placed', '--max-per-second', '1000'], /--max-per-second must be a whole number from 1 to 500, got "1000"/],
    [['--env', 'prod', 'order-placed', '--window-minutes', 'soon'], /--window-minutes must be a positive number/],
  ])('%j', async (argv, message) => {
    const { code, stderr } = await redrive(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run redrive/);
    expect(mocks.sqs.calls()).toHaveLength(0);
  });
});
