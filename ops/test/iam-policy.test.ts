// docs/ops-iam-policy.json must allow every AWS action each command calls, and nothing else: each
// command is run against the mocked stack and the actions it sent are compared with its policy.
import './support/fake-aws-env';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAwsClients } from '../aws/clients';
import { failoverCli } from '../failover';
import { preflightCli } from '../preflight';
import { redriveCli } from '../redrive';
import { captureOutput } from './support/capture';
import { FailoverScenario } from './support/failover-scenario';
import { FakeClock } from './support/fake-clock';
import { dlqVisible, mockMoveTask, mockQueues } from './support/redrive-scenario';
import { mockHealthyStack, mocks, NOW } from './support/stack';

interface Statement {
  Action: string | string[];
}
const policies: Record<string, { Statement: Statement[] }> = JSON.parse(
  readFileSync(join(__dirname, '../../docs/ops-iam-policy.json'), 'utf8'),
);

function allowedActions(command: string): Set<string> {
  return new Set(policies[command].Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
}

const SERVICE_PREFIX: Record<string, string> = {
  CloudFormationClient: 'cloudformation',
  ElastiCacheClient: 'elasticache',
  RDSClient: 'rds',
  SQSClient: 'sqs',
  AutoScalingClient: 'autoscaling',
  CloudWatchClient: 'cloudwatch',
  CloudFrontClient: 'cloudfront',
  WAFV2Client: 'wafv2',
};

/** The IAM actions of every request sent so far, e.g. `sqs:GetQueueAttributes`. */
function actionsSent(): Set<string> {
  const actions = new Set<string>();
  for (const mock of Object.values(mocks)) {
    for (const call of mock.calls()) {
      actions.add(`${SERVICE_PREFIX[mock.clientName()]}:${call.args[0].constructor.name.replace(/Command$/, '')}`);
    }
  }
  return actions;
}

/** StartMessageMoveTask runs as the caller: SQS receives and deletes from the DLQ and sends to the source. */
const IMPLIED_BY_MESSAGE_MOVE = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage'];

beforeEach(mockHealthyStack);

test('preflight', async () => {
  expect(await preflightCli(['--env', 'prod'], { output: captureOutput(), progress: { update() {}, done() {} }, now: () => NOW, clients: createAwsClients })).toBe(0);
  expect([...actionsSent()].sort()).toEqual([...allowedActions('preflight')].sort());
});

test('failover, both targets', async () => {
  const clock = new FakeClock(NOW);
  const scenario = new FailoverScenario(clock);
  scenario.redis(10);
  scenario.aurora(10);
  const deps = { output: captureOutput(), clock, clients: createAwsClients, confirm: async () => true };
  expect(await failoverCli(['--env', 'prod', 'redis', '--yes'], deps)).toBe(0);
  expect(await failoverCli(['--env', 'prod', 'aurora', '--yes'], deps)).toBe(0);
  expect([...actionsSent()].sort()).toEqual([...allowedActions('failover')].sort());
});

test('redrive', async () => {
  mockQueues(10);
  dlqVisible([10, 10]);
  mockMoveTask(2);
  expect(await redriveCli(['--env', 'prod', 'order-placed'], { output: captureOutput(), clock: new FakeClock(NOW), clients: createAwsClients })).toBe(0);
  expect([...actionsSent(), ...IMPLIED_BY_MESSAGE_MOVE].sort()).toEqual([...allowedActions('redrive')].sort());
});
