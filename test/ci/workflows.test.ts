// The GitHub workflows for forks: valid YAML with the structure GitHub expects, ci.yml running what
// .ci/run runs (engines, npm ci, npm test, synth of every environment), deploy.yml dispatched by hand
// per environment with GitHub OIDC and no stored AWS keys.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { environments } from '../../lib/config';

const ROOT = join(__dirname, '..', '..');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  if?: string;
}
interface Job {
  'runs-on': string;
  'timeout-minutes'?: number;
  environment?: string;
  services?: Record<string, { image: string; ports?: string[]; env?: Record<string, string>; options?: string }>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

function load(file: string): Workflow {
  const text = readFileSync(join(ROOT, '.github', 'workflows', file), 'utf8');
  // uniqueKeys and strict parsing: a duplicated key or a tab-indented line is an error, not a guess.
  return parse(text, { uniqueKeys: true, strict: true, prettyErrors: true }) as Workflow;
}

function checkJobs(workflow: Workflow): void {
  expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0);
  for (const [id, job] of Object.entries(workflow.jobs)) {
    expect({ id, runsOn: typeof job['runs-on'] }).toEqual({ id, runsOn: 'string' });
    expect(job['timeout-minutes']).toBeGreaterThan(0);
    expect(Array.isArray(job.steps) && job.steps.length > 0).toBe(true);
    for (const step of job.steps) {
      // Exactly one of uses/run per step, and actions pinned to a version.
      expect({ step: step.name ?? step.uses, kinds: [step.uses, step.run].filter(Boolean).length }).toEqual({ step: step.name ?? step.uses, kinds: 1 });
      if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@v\d+/);
    }
  }
}

const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');

describe('ci.yml', () => {
  const workflow = load('ci.yml');
  const [job] = Object.values(workflow.jobs);
  const ciRun = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');

  test('runs on pushes to main and on pull requests, with read-only permissions', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.permissions).toEqual({ contents: 'read' });
    checkJobs(workflow);
  });

  test('PostgreSQL and Redis run as health-checked service containers on the ports the tests use', () => {
    expect(job.services?.postgres.image).toMatch(/^postgres:\d+/);
    expect(job.services?.postgres.ports).toEqual(['5432:5432']);
    expect(job.services?.postgres.options).toMatch(/--health-cmd/);
    expect(job.services?.redis.image).toMatch(/^redis:\d+/);
    expect(job.services?.redis.ports).toEqual(['6379:6379']);
    expect(job.services?.redis.options).toMatch(/--health-cmd/);
    expect(job.env?.CI).toBe('true');
  });

  test('runs what .ci/run runs: npm ci, npm test, and a synth of every environment', () => {
    expect(ciRun).toMatch(/^npm ci\b/m);
    expect(ciRun).toMatch(/^npm test$/m);
    expect(runs(job)).toMatch(/^npm ci\b/m);
    expect(runs(job)).toMatch(/^npm test$/m);
    for (const envName of Object.keys(environments)) {
      expect(ciRun).toContain(`npx cdk synth -c env=${envName}`);
      expect(runs(job)).toContain(`npx cdk synth -c env=${envName}`);
    }
  });

  test('installs shellcheck, which the boot script test requires', () => {
    expect(runs(job)).toMatch(/apt-get install -y [^\n]*\bshellcheck\b/);
  });

  test('points the browser tests at the runner image\'s Chrome (no browser download)', () => {
    expect(job.env?.CHROMIUM_PATH).toBe('/usr/bin/google-chrome');
    expect(ciRun).toMatch(/apt-get install -y [^\n]*\bchromium\b/);
  });

  test('uses Node 20, the version the instances run', () => {
    const setupNode = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setupNode?.with?.['node-version']).toBe('20');
  });
});

describe('deploy.yml', () => {
  const workflow = load('deploy.yml');
  const [job] = Object.values(workflow.jobs);

  test('is started by hand for one of the configured environments', () => {
    expect(Object.keys(workflow.on)).toEqual(['workflow_dispatch']);
    const input = (workflow.on.workflow_dispatch as { inputs: Record<string, { type: string; options: string[]; required: boolean }> }).inputs.environment;
    expect(input).toMatchObject({ type: 'choice', required: true });
    expect([...input.options].sort()).toEqual(Object.keys(environments).sort());
    checkJobs(workflow);
  });

  test('assumes the GitHub environment\'s role through OIDC, never with stored keys', () => {
    expect(workflow.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    expect(job.environment).toBe('${{ inputs.environment }}');
    const credentials = job.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(credentials?.with?.['role-to-assume']).toBe('${{ vars.AWS_DEPLOY_ROLE_ARN }}');
    expect(JSON.stringify(workflow)).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/i);
  });

  test('deploys every stack of the chosen environment after installing with npm ci', () => {
    const script = runs(job);
    expect(script).toMatch(/^npm ci\b/m);
    expect(script).toContain('npx cdk deploy --all -c env=${{ inputs.environment }}');
    expect(script.indexOf('npm ci')).toBeLessThan(script.indexOf('cdk deploy'));
  });
});
