// `failover --url` end to end on this machine: the real load tool (browse scenario, autocannon)
// against a loopback server that fails every second request while the mocked ElastiCache failover
// is in progress. The drill runs on the real clock with short phases, so each phase gets a few of
// autocannon's once-a-second bursts, and its boundaries (1.5 s and 3.5 s after the load starts)
// fall between bursts.
import './support/fake-aws-env';
import { TestFailoverCommand } from '@aws-sdk/client-elasticache';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAwsClients } from '../aws/clients';
import { systemClock } from '../clock';
import { failoverCli } from '../failover';
import { captureOutput } from './support/capture';
import { FailoverScenario } from './support/failover-scenario';
import { mockHealthyStack, mocks } from './support/stack';

type ServerPhase = 'before' | 'during' | 'after';

let server: Server;
let url: string;
let scenario: FailoverScenario;
const seen: Record<ServerPhase, number> = { before: 0, during: 0, after: 0 };
let failed = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    // The scenario's preparation reads the catalog (limit=100); its load reads pages of 20 and products.
    if (req.url === '/api/products?limit=100') {
      return void res.end(JSON.stringify({ items: [{ id: 'p1' }, { id: 'p2' }, { id: 'p3' }], nextCursor: null }));
    }
    const phase: ServerPhase = scenario.inProgress() ? 'during' : mocks.elastiCache.commandCalls(TestFailoverCommand).length > 0 ? 'after' : 'before';
    seen[phase]++;
    if (phase === 'during' && seen.during % 2 === 1) {
      failed++;
      res.statusCode = 503;
      return void res.end('{"error":"service_unavailable"}');
    }
    res.end(JSON.stringify({ id: 'p1', items: [], nextCursor: null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  mockHealthyStack();
  scenario = new FailoverScenario(systemClock);
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function phaseRow(stdout: string, phase: ServerPhase) {
  const row = new RegExp(`^${phase}\\s+(\\d+)\\s+(\\d+)\\s+([\\d.]+)%\\s+(\\d+ ms|-)\\s+(\\d+ ms|-)\\s+(.+)$`, 'm').exec(stdout);
  if (!row) throw new Error(`no ${phase} row in:\n${stdout}`);
  return { requests: Number(row[1]), errors: Number(row[2]), errorRate: Number(row[3]), p50: row[4], p99: row[5], kinds: row[6] };
}

test('the load tool runs through the drill; every failure lands in `during`, at the share the server failed', async () => {
  scenario.redis(2);
  const output = captureOutput();
  const code = await failoverCli(
    [
      ...['--env', 'prod', 'redis', '--yes', '--url', url, '--rate', '10'],
      ...['--baseline-seconds', '1.5', '--poll-seconds', '0.5', '--settle-seconds', '1.2'],
    ],
    { output, confirm: async () => true, clients: createAwsClients },
  );
  const stdout = output.stdout.join('\n');
  expect(code).toBe(0);
  expect(output.stderr).toEqual([]);
  const before = phaseRow(stdout, 'before');
  const during = phaseRow(stdout, 'during');
  const after = phaseRow(stdout, 'after');

  // 10/s for 1.5 s, 2 s and 1.2 s: bursts of 10 at 0 s and 1 s, at 2 s and 3 s, at 4 s.
  expect(before.requests).toBeGreaterThanOrEqual(10);
  expect(before.requests).toBeLessThanOrEqual(30);
  expect(during.requests).toBeGreaterThanOrEqual(10);
  expect(during.requests).toBeLessThanOrEqual(30);
  expect(after.requests).toBeGreaterThanOrEqual(10);
  // Each phase reports what the server answered in it (the run's last burst may be cut off in flight).
  expect(before.requests).toBe(seen.before);
  expect(during.requests).toBe(seen.during);
  expect(after.requests).toBeLessThanOrEqual(seen.after);

  expect(before).toMatchObject({ errors: 0, errorRate: 0, kinds: '-' });
  expect(after).toMatchObject({ errors: 0, errorRate: 0, kinds: '-' });
  expect(during.errors).toBe(failed);
  expect(during.errors).toBe(Math.ceil(during.requests / 2));
  expect(during.kinds).toBe(`503:${failed}`);
  expect(during.errorRate).toBeCloseTo((100 * failed) / during.requests, 1);
  expect(before.p99).toMatch(/^\d+ ms$/);

  // The load stopped with the drill: once the requests written just before it stopped have landed,
  // nothing more reaches the server (at 10/s another second would bring 10).
  await wait(300);
  const atEnd = seen.before + seen.during + seen.after;
  await wait(1200);
  expect(seen.before + seen.during + seen.after).toBe(atEnd);
}, 20_000);
