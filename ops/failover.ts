// `npm run failover -- --env prod redis|aurora [--yes] [--url <url>]`: a game-day failover drill.
// Parses arguments, confirms, runs the drill, prints its progress and result.
import { StackOutputs } from '../lib/stack/outputs';
import { createAwsClients, type AwsClients } from './aws/clients';
import { systemClock, type Clock } from './clock';
import { parseCommandLine, processOutput, runCommand, type CommandOutput } from './cli/command';
import { lineConfirm, type Confirm } from './cli/confirm';
import { ENVIRONMENT_OPTIONS, ENVIRONMENT_USAGE, resolveEnvironment } from './cli/environment';
import { positiveNumber } from './cli/numeric-option';
import { UsageError } from './cli/usage-error';
import { auroraFailoverTarget } from './failover/aurora';
import { runFailoverDrill, type DrillReport } from './failover/drill';
import { redisFailoverTarget } from './failover/redis';
import { startHttpProbe, type HttpProbeOptions, type LoadDuringDrill } from './probe/http-probe';
import { readDeployedOutputs } from './stack/outputs';

export const FAILOVER_USAGE = `usage: npm run failover -- --env <name> redis|aurora [--yes] [--url <url>]

Fails over the cache (ElastiCache TestFailover on the first shard) or the database (Aurora
FailoverDBCluster), follows it until healthy on a new primary and reports the time to recover.
DISRUPTIVE: in-flight connections to the old primary drop. Exit 0 recovered, 1 not recovered in
time or refused, 2 bad arguments, 3 AWS access or lookup problem.

${ENVIRONMENT_USAGE}
  --yes                    skip the confirmation prompt
  --url <url>              probe this URL during the drill (GET, fixed rate) and report error
                           rate and p99 before, during and after
  --probe-rate <n>         probe requests per second (default 10)
  --baseline-seconds <n>   probe time before the failover (default 30)
  --settle-seconds <n>     probe time after recovery (default 30)
  --poll-seconds <n>       time between status checks (default 5)
  --timeout-minutes <n>    give up after this long (default 15)`;

const TARGETS = ['redis', 'aurora'] as const;
type TargetName = (typeof TARGETS)[number];

export interface FailoverDependencies {
  readonly output?: CommandOutput;
  readonly clock?: Clock;
  readonly confirm?: Confirm;
  readonly clients?: (region: string) => AwsClients;
  /** Replaces the built-in HTTP probe (tests, or the benchmarks issue's load tool). */
  readonly load?: (options: HttpProbeOptions) => LoadDuringDrill;
}

export function failoverCli(argv: readonly string[], deps: FailoverDependencies = {}): Promise<number> {
  const output = deps.output ?? processOutput;
  return runCommand(
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        ...ENVIRONMENT_OPTIONS,
        yes: { type: 'boolean' },
        url: { type: 'string' },
        'probe-rate': { type: 'string' },
        'baseline-seconds': { type: 'string' },
        'settle-seconds': { type: 'string' },
        'poll-seconds': { type: 'string' },
        'timeout-minutes': { type: 'string' },
      });
      if (values.help) {
        output.out(FAILOVER_USAGE);
        return 0;
      }
      const targetName = targetFrom(positionals);
      const probeRate = positiveNumber('--probe-rate', values['probe-rate'], 10);
      const baselineMs = positiveNumber('--baseline-seconds', values['baseline-seconds'], 30) * 1000;
      const settleMs = positiveNumber('--settle-seconds', values['settle-seconds'], 30) * 1000;
      const pollIntervalMs = positiveNumber('--poll-seconds', values['poll-seconds'], 5) * 1000;
      const timeoutMs = positiveNumber('--timeout-minutes', values['timeout-minutes'], 15) * 60_000;
      const url = values.url === undefined ? undefined : probeUrl(values.url);
      const environment = resolveEnvironment(values);
      const clients = (deps.clients ?? createAwsClients)(environment.region);
      const clock = deps.clock ?? systemClock;

      const outputs = await readDeployedOutputs(clients.cloudFormationIn, [environment.appStack]);
      const target =
        targetName === 'redis'
          ? redisFailoverTarget(clients, outputs.get(StackOutputs.cacheReplicationGroupId))
          : auroraFailoverTarget(clients, outputs.get(StackOutputs.databaseClusterIdentifier));

      if (!values.yes) {
        const question = `This fails over ${target.description} in ${environment.config.envName} (${target.action}).`;
        if (!(await (deps.confirm ?? lineConfirm())(question, environment.config.envName))) {
          output.err('aborted: not confirmed');
          return 1;
        }
      }

      const startLoad = deps.load ?? startHttpProbe;
      const started = clock.now();
      const elapsed = (at: number) => `+${Math.round((at - started) / 1000)}s`;
      output.out(`failing over ${target.description}${url ? `, probing ${url} at ${probeRate}/s` : ''}`);
      const report = await runFailoverDrill(target, {
        clock,
        pollIntervalMs,
        timeoutMs,
        baselineMs,
        settleMs,
        load:
          url === undefined
            ? undefined
            : () =>
                startLoad({
                  url,
                  ratePerSecond: probeRate,
                  requestTimeoutMs: 5000,
                  // Bounded even if the drill hangs: baseline + timeout + settle, plus a margin.
                  maxDurationMs: baselineMs + timeoutMs + settleMs + 10_000,
                }),
        onEvent: (event) => output.out(`  event  ${new Date(event.at).toISOString()}  ${event.message}`),
        onStatus: (seen) => output.out(`  status ${elapsed(clock.now())}  ${seen.status}${seen.primary ? `, primary ${seen.primary}` : ''}`),
      });
      output.out(formatDrillReport(report, pollIntervalMs));
      return report.recovery.recovered ? 0 : 1;
    },
    FAILOVER_USAGE,
    output,
  );
}

function targetFrom(positionals: string[]): TargetName {
  if (positionals.length !== 1 || !(TARGETS as readonly string[]).includes(positionals[0])) {
    throw new UsageError(`expected one target, redis or aurora; got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  }
  return positionals[0] as TargetName;
}

function probeUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString();
  } catch {
    // fall through to the usage error
  }
  throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(value)}`);
}

export function formatDrillReport(report: DrillReport, pollIntervalMs: number): string {
  const { recovery } = report;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    recovery.recovered
      ? `recovered in ${seconds(recovery.elapsedMs)} (measured to within the ${seconds(pollIntervalMs)} poll interval)`
      : `NOT recovered after ${seconds(recovery.elapsedMs)}`,
    `primary: ${recovery.primaryBefore ?? 'unknown'} -> ${recovery.primaryAfter ?? 'unknown'}`,
  ];
  if (report.load) {
    lines.push('', 'PHASE   REQUESTS  ERRORS  ERROR RATE  P99');
    for (const p of report.load) {
      lines.push(
        [
          p.phase.padEnd(6),
          String(p.requests).padStart(8),
          String(p.errors).padStart(6),
          `${(p.errorRate * 100).toFixed(1)}%`.padStart(10),
          p.p99Ms === undefined ? '-' : `${Math.round(p.p99Ms)} ms`,
        ].join('  '),
      );
    }
  }
  return lines.join('\n');
}

if (require.main === module) {
  void failoverCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
