// `npm run failover -- --env prod redis|aurora [--yes] [--url <base>]`: a game-day failover drill.
// Parses arguments, confirms, runs the drill (with the load tool's scenario through it when --url is
// given), prints its progress and result.
import type { SurgeConfig } from '../lib/config';
import { StackOutputs } from '../lib/stack/outputs';
import { createAwsClients, type AwsClients } from './aws/clients';
import { systemClock, type Clock } from './clock';
import { parseCommandLine, processOutput, runCommand, type CommandOutput } from './cli/command';
import { lineConfirm, type Confirm } from './cli/confirm';
import { ENVIRONMENT_OPTIONS, ENVIRONMENT_USAGE, resolveEnvironment } from './cli/environment';
import { positiveNumber, wholeNumber } from './cli/numeric-option';
import { UsageError } from './cli/usage-error';
import { auroraFailoverTarget } from './failover/aurora';
import { runFailoverDrill, type DrillReport, type LoadDuringDrill } from './failover/drill';
import { redisFailoverTarget } from './failover/redis';
import type { PhaseSummary } from './probe/latency-summary';
import { DRILL_SCENARIOS, startScenarioLoad, type DrillLoadOptions, type DrillScenario } from './probe/scenario-load';
import { readDeployedOutputs } from './stack/outputs';

/** A drill, not a load test: half the prod WAF's per-IP limit (3000 per 300 s), enough for a p99 per phase. */
const DEFAULT_RATE = 5;
const DEFAULT_CONNECTIONS = 10;

export const FAILOVER_USAGE = `usage: npm run failover -- --env <name> redis|aurora [--yes] [--url <base> [--scenario browse|checkout] [--rate <n>] [--connections <n>]]

Fails over the cache (ElastiCache TestFailover on the first shard) or the database (Aurora
FailoverDBCluster), follows it until healthy on a new primary and reports the time to recover.
DISRUPTIVE: in-flight connections to the old primary drop. Exit 0 recovered, 1 not recovered in
time or refused, 2 bad arguments, 3 AWS access or lookup problem.

${ENVIRONMENT_USAGE}
  --yes                    skip the confirmation prompt
  --url <base>             run the load tool against this site (e.g. https://shop.example.com)
                           through the drill; report requests, errors, p50 and p99 before, during
                           and after
  --scenario <name>        browse (default): product and catalog reads; checkout: registers 20
                           throwaway buyers, reads products and places real orders
  --rate <n>               requests per second, a whole number (default ${DEFAULT_RATE}, a drill, not a load test)
  --connections <n>        most connections open at once (default ${DEFAULT_CONNECTIONS}, never more than --rate)
  --baseline-seconds <n>   load before the failover (default 30)
  --settle-seconds <n>     load after recovery (default 30)
  --poll-seconds <n>       time between status checks (default 5)
  --timeout-minutes <n>    give up after this long (default 15)`;

const TARGETS = ['redis', 'aurora'] as const;
type TargetName = (typeof TARGETS)[number];

export interface FailoverDependencies {
  readonly output?: CommandOutput;
  readonly clock?: Clock;
  readonly confirm?: Confirm;
  readonly clients?: (region: string) => AwsClients;
  /** Prepares and starts the load for --url; the default runs the load tool's scenario. */
  readonly load?: (options: DrillLoadOptions) => Promise<LoadDuringDrill>;
}

export function failoverCli(argv: readonly string[], deps: FailoverDependencies = {}): Promise<number> {
  const output = deps.output ?? processOutput;
  return runCommand(
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        ...ENVIRONMENT_OPTIONS,
        yes: { type: 'boolean' },
        url: { type: 'string' },
        scenario: { type: 'string' },
        rate: { type: 'string' },
        connections: { type: 'string' },
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
      const baselineMs = positiveNumber('--baseline-seconds', values['baseline-seconds'], 30) * 1000;
      const settleMs = positiveNumber('--settle-seconds', values['settle-seconds'], 30) * 1000;
      const pollIntervalMs = positiveNumber('--poll-seconds', values['poll-seconds'], 5) * 1000;
      const timeoutMs = positiveNumber('--timeout-minutes', values['timeout-minutes'], 15) * 60_000;
      const loadOptions =
        values.url === undefined
          ? noLoadFlags(values)
          : {
              url: siteUrl(values.url),
              scenario: drillScenario(values.scenario),
              ratePerSecond: wholeNumber('--rate', values.rate, DEFAULT_RATE, 1, 1000),
              connections: wholeNumber('--connections', values.connections, DEFAULT_CONNECTIONS, 1, 1000),
              // Bounded even if the drill hangs: baseline + timeout + settle, plus a margin.
              maxDurationMs: baselineMs + timeoutMs + settleMs + 10_000,
            };
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

      if (loadOptions) {
        const warning = wafRateWarning(loadOptions.ratePerSecond, environment.config);
        if (warning) output.err(warning);
      }
      const load = loadOptions && (await (deps.load ?? startScenarioLoad)(loadOptions));
      const started = clock.now();
      const elapsed = (at: number) => `+${Math.round((at - started) / 1000)}s`;
      output.out(
        `failing over ${target.description}` +
          (loadOptions ? `, ${loadOptions.scenario} load on ${loadOptions.url} at ${loadOptions.ratePerSecond}/s` : ''),
      );
      const report = await runFailoverDrill(target, {
        clock,
        pollIntervalMs,
        timeoutMs,
        baselineMs,
        settleMs,
        load,
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

/** The site's base URL: the scenarios add the API paths themselves. */
function siteUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.pathname !== '/' || url.search !== '') {
    throw new UsageError(`--url must be the site's base URL without a path (the scenario adds /api/...), got ${JSON.stringify(value)}`);
  }
  return url.origin;
}

function drillScenario(value: string | undefined): DrillScenario {
  if (value === undefined) return 'browse';
  if (!(DRILL_SCENARIOS as readonly string[]).includes(value)) {
    throw new UsageError(`--scenario must be ${DRILL_SCENARIOS.join(' or ')}, got ${JSON.stringify(value)}`);
  }
  return value as DrillScenario;
}

/** The load's own flags without --url would be silently ignored: say so instead. */
function noLoadFlags(values: Record<string, unknown>): undefined {
  const given = ['scenario', 'rate', 'connections', 'baseline-seconds', 'settle-seconds'].filter((flag) => values[flag] !== undefined);
  if (given.length > 0) throw new UsageError(`--${given[0]} needs --url (the site to load during the drill)`);
  return undefined;
}

/**
 * The drill's requests all come from this machine's IP, so the WAF's per-IP rate rule counts them.
 * Above it the WAF answers 403 and the drill would measure its own blocking, not the failover.
 */
function wafRateWarning(ratePerSecond: number, config: SurgeConfig): string | undefined {
  const { rateLimit, evaluationWindowSeconds } = config.waf;
  const perWindow = ratePerSecond * evaluationWindowSeconds;
  if (perWindow <= rateLimit) return undefined;
  const safeRate = Math.floor(rateLimit / evaluationWindowSeconds);
  return (
    `warning: at ${ratePerSecond} requests/s the drill sends ${perWindow} requests per ${evaluationWindowSeconds} s from this IP, ` +
    `above ${config.envName}'s WAF limit of ${rateLimit}: expect 403s from the WAF once it counts them` +
    (safeRate >= 1 ? ` (--rate ${safeRate} stays under it)` : '')
  );
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
  if (report.load) lines.push('', formatPhases(report.load));
  return lines.join('\n');
}

/** One row per drill phase; ERROR KINDS counts each error status code, `timeout` and socket error. */
function formatPhases(phases: readonly PhaseSummary[]): string {
  const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`);
  const header = ['PHASE', 'REQUESTS', 'ERRORS', 'ERROR RATE', 'P50', 'P99', 'ERROR KINDS'];
  const rows = phases.map((p) => [
    p.phase,
    String(p.requests),
    String(p.errors),
    `${(p.errorRate * 100).toFixed(1)}%`,
    ms(p.p50Ms),
    ms(p.p99Ms),
    Object.entries(p.errorKinds)
      .map(([kind, n]) => `${kind}:${n}`)
      .join(' ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Text columns left-aligned, figures right-aligned, the last column unpadded.
  const cell = (text: string, i: number) => (i === 0 ? text.padEnd(widths[i]) : i === header.length - 1 ? text : text.padStart(widths[i]));
  return [header, ...rows].map((r) => r.map(cell).join('  ')).join('\n');
}

if (require.main === module) {
  void failoverCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
