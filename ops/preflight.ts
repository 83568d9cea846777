// `npm run preflight -- --env prod [--sale <name>] [--json]`: is the deployed stack ready for a sale?
// Parses arguments, runs the checks, prints the table (or JSON); exit 1 when any check fails.
import { createAwsClients, type AwsClients } from './aws/clients';
import type { CheckResult } from './checks/check';
import { parseCommandLine, processOutput, runCommand, type CommandOutput } from './cli/command';
import { ENVIRONMENT_OPTIONS, ENVIRONMENT_USAGE, resolveEnvironment } from './cli/environment';
import { progressLine, type ProgressLine } from './cli/progress';
import { UsageError } from './cli/usage-error';
import { readCapacityPlan } from './preflight/capacity-plan';
import { expectationsFromConfig } from './preflight/from-config';
import { formatJson, formatTable } from './preflight/report';
import { allPassed, runPreflight } from './preflight/run-preflight';
import { readDeployedOutputs } from './stack/outputs';

export const PREFLIGHT_USAGE = `usage: npm run preflight -- --env <name> [--sale <name>] [--capacity-plan <file>] [--json]

Checks that the deployed stack is ready for a sale; read-only. Exit 0 all pass, 1 a check failed,
2 bad arguments, 3 AWS access or lookup problem.

${ENVIRONMENT_USAGE}
  --sale <name>            sale event from the config (default: the next one not yet ended)
  --capacity-plan <file>   JSON {"<fleet>": peakInstances}; max capacity must cover it
  --json                   print JSON instead of the table`;

export interface PreflightDependencies {
  readonly output?: CommandOutput;
  readonly progress?: ProgressLine;
  readonly now?: () => number;
  readonly clients?: (region: string) => AwsClients;
}

export function preflightCli(argv: readonly string[], deps: PreflightDependencies = {}): Promise<number> {
  const output = deps.output ?? processOutput;
  return runCommand(
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        ...ENVIRONMENT_OPTIONS,
        sale: { type: 'string' },
        'capacity-plan': { type: 'string' },
        json: { type: 'boolean' },
      });
      if (values.help) {
        output.out(PREFLIGHT_USAGE);
        return 0;
      }
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
      const environment = resolveEnvironment(values);
      const now = (deps.now ?? Date.now)();
      const expectations = expectationsFromConfig(environment.config, {
        saleName: values.sale,
        now,
        capacityPlan: values['capacity-plan'] === undefined ? undefined : readCapacityPlan(values['capacity-plan']),
      });
      const clients = (deps.clients ?? createAwsClients)(environment.region);
      const progress = deps.progress ?? progressLine();

      const stacks = [environment.appStack, environment.wafStack];
      progress.update(`reading outputs of ${stacks.map((s) => s.name).join(', ')}...`);
      let results: CheckResult[];
      try {
        const outputs = await readDeployedOutputs(clients.cloudFormationIn, stacks);
        results = await runPreflight({ clients, outputs, expectations, now }, (pending, done, total) =>
          progress.update(`checked ${done}/${total}${pending.length > 0 ? `, waiting for ${pending.join(', ')}` : ''}`),
        );
      } finally {
        progress.done();
      }

      const ok = allPassed(results);
      output.out(
        values.json
          ? formatJson({
              env: environment.config.envName,
              sale: expectations.sale?.name ?? null,
              checkedAt: new Date(now).toISOString(),
              ok,
              checks: results,
            })
          : formatTable(results),
      );
      return ok ? 0 : 1;
    },
    PREFLIGHT_USAGE,
    output,
  );
}

if (require.main === module) {
  void preflightCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
