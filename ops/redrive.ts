// `npm run redrive -- --env prod <queue> [--force]`: moves a queue's dead letters back to it with
// SQS's message move task. Parses arguments, runs the redrive, prints its progress and result.
import { QueueOutputs, type QueueName } from '../lib/stack/outputs';
import { createAwsClients, type AwsClients } from './aws/clients';
import { queueRef } from './aws/queue-attributes';
import { systemClock, type Clock } from './clock';
import { parseCommandLine, processOutput, runCommand, type CommandOutput } from './cli/command';
import { ENVIRONMENT_OPTIONS, ENVIRONMENT_USAGE, resolveEnvironment } from './cli/environment';
import { positiveNumber } from './cli/numeric-option';
import { UsageError } from './cli/usage-error';
import { cloudWatchDeadLetterActivity } from './redrive/dead-letter-activity';
import { sqsMessageMoveTask } from './redrive/message-mover';
import { redriveDeadLetters } from './redrive/redrive';
import { readDeployedOutputs } from './stack/outputs';

const QUEUES = Object.keys(QueueOutputs) as QueueName[];

export const REDRIVE_USAGE = `usage: npm run redrive -- --env <name> <queue> [--force]

Moves every message in <queue>'s dead-letter queue back to <queue> (SQS StartMessageMoveTask) and
follows the move. Refuses while the DLQ is still receiving failures unless --force. Consumers will
process the moved messages again. Exit 0 moved or nothing to move, 1 refused or the move failed or
is still running at the timeout, 2 bad arguments, 3 AWS access or lookup problem.

  <queue>                  ${QUEUES.join(' or ')} (the -dlq name is accepted too)
${ENVIRONMENT_USAGE}
  --force                  redrive even while new failures are arriving
  --window-minutes <n>     how far back to look for new failures (default 15)
  --max-per-second <n>     cap the move rate to spare the consumers (1-500; default: SQS decides)
  --poll-seconds <n>       time between progress checks (default 5)
  --timeout-minutes <n>    stop following after this long; the move continues (default 30)`;

export interface RedriveDependencies {
  readonly output?: CommandOutput;
  readonly clock?: Clock;
  readonly clients?: (region: string) => AwsClients;
}

export function redriveCli(argv: readonly string[], deps: RedriveDependencies = {}): Promise<number> {
  const output = deps.output ?? processOutput;
  return runCommand(
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        ...ENVIRONMENT_OPTIONS,
        force: { type: 'boolean' },
        'window-minutes': { type: 'string' },
        'max-per-second': { type: 'string' },
        'poll-seconds': { type: 'string' },
        'timeout-minutes': { type: 'string' },
      });
      if (values.help) {
        output.out(REDRIVE_USAGE);
        return 0;
      }
      const queue = queueFrom(positionals);
      const windowMinutes = positiveNumber('--window-minutes', values['window-minutes'], 15);
      const maxPerSecond = values['max-per-second'] === undefined ? undefined : moveRate(values['max-per-second']);
      const pollIntervalMs = positiveNumber('--poll-seconds', values['poll-seconds'], 5) * 1000;
      const timeoutMs = positiveNumber('--timeout-minutes', values['timeout-minutes'], 30) * 60_000;
      const environment = resolveEnvironment(values);
      const clients = (deps.clients ?? createAwsClients)(environment.region);
      const clock = deps.clock ?? systemClock;

      const outputs = await readDeployedOutputs(clients.cloudFormationIn, [environment.appStack]);
      const deadLetterQueue = await queueRef(clients.sqs, outputs.get(QueueOutputs[queue].dlqUrl));
      const source = await queueRef(clients.sqs, outputs.get(QueueOutputs[queue].queueUrl));

      const outcome = await redriveDeadLetters({
        sqs: clients.sqs,
        deadLetterQueue,
        source,
        activity: cloudWatchDeadLetterActivity(clients.cloudWatch, clock, windowMinutes),
        mover: sqsMessageMoveTask(clients.sqs, maxPerSecond),
        force: values.force === true,
        clock,
        pollIntervalMs,
        timeoutMs,
        onTrend: (trend) =>
          output.out(`${deadLetterQueue.name}: ${trend.detail}${trend.receiving && values.force ? ' (--force: redriving anyway)' : ''}`),
        onProgress: (p) => output.out(`  ${p.status}  ${p.moved}${p.toMove === undefined ? '' : `/${p.toMove}`} moved`),
      });

      switch (outcome.kind) {
        case 'nothing-to-move':
          output.out(`${deadLetterQueue.name} is empty: nothing to redrive`);
          return 0;
        case 'still-running':
          output.out(
            `still running after ${Math.round(outcome.elapsedMs / 1000)} s (${outcome.progress.moved} moved); ` +
              'SQS continues the move: check again with this command or the SQS console',
          );
          return 1;
        case 'finished': {
          const { status, moved, failureReason } = outcome.progress;
          output.out(
            `${status}: ${moved} messages moved from ${deadLetterQueue.name} to ${source.name} in ${Math.round(outcome.elapsedMs / 1000)} s` +
              (failureReason ? ` (${failureReason})` : ''),
          );
          return status === 'COMPLETED' ? 0 : 1;
        }
      }
    },
    REDRIVE_USAGE,
    output,
  );
}

function queueFrom(positionals: string[]): QueueName {
  const name = positionals.length === 1 ? positionals[0].replace(/-dlq$/, '') : undefined;
  if (name === undefined || !(QUEUES as string[]).includes(name)) {
    throw new UsageError(`expected one queue, ${QUEUES.join(' or ')}; got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  }
  return name as QueueName;
}

/** SQS accepts 1-500 messages per second for a move task. */
function moveRate(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 500) {
    throw new UsageError(`--max-per-second must be a whole number from 1 to 500, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

if (require.main === module) {
  void redriveCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
