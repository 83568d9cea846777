// `npm run load -- --url <base> --scenario browse|checkout|flash-sale --duration 30s --connections 50`
// Runs one scenario against any base URL with a progress bar, then prints the result table.
// Options: --user-url <base> (user service, when not behind one ALB/CloudFront), --users N (buyers to
// register, default 20), --product <id> (flash-sale target), --json (print the summary as JSON).
import { parseArgs } from 'node:util';
import { formatSummaries, parseDuration, runLoad } from './lib/load-run';
import { prepareScenario, SCENARIOS, type ScenarioName } from './scenarios';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://localhost:3000' },
      'user-url': { type: 'string' },
      scenario: { type: 'string', default: 'browse' },
      duration: { type: 'string', default: '30s' },
      connections: { type: 'string', default: '50' },
      users: { type: 'string', default: '20' },
      product: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const scenario = values.scenario as ScenarioName;
  if (!SCENARIOS.includes(scenario)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}, got "${values.scenario}"`);
  const connections = Number(values.connections);
  if (!Number.isInteger(connections) || connections < 1 || connections > 10000) {
    throw new Error(`--connections must be a whole number from 1 to 10000, got "${values.connections}"`);
  }
  const users = Number(values.users);
  if (!Number.isInteger(users) || users < 1) throw new Error(`--users must be a positive whole number, got "${values.users}"`);
  const url = new URL(values.url!).origin;
  const durationSeconds = parseDuration(values.duration!);

  const prepared = await prepareScenario(scenario, { url, userUrl: values['user-url'], users, productId: values.product });
  console.error(`${scenario} against ${url}: ${prepared.notes.join('; ')}`);
  const summary = await runLoad({
    url,
    title: scenario,
    requests: prepared.requests,
    connections,
    durationSeconds,
    progress: !values.json,
  });
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummaries([summary]));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`load: ${err.message}`);
      process.exit(1);
    },
  );
}
