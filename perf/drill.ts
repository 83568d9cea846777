// `npm run drill -- <name> [--small] [--down <seconds>]`: a fault drill on this machine (loopback
// only, bounded in time). Names: flash-sale, redis-kill, postgres-stop, payment-worker-kill,
// sigterm-under-load, poison-message, waiting-room, all. Each prints its verdict and figures; exit
// code 1 if a drill fails. --small runs the flash sale at test size (50 units, 1,000 attempts, 100
// connections, 200 buyers) and the waiting room with 1,000 shoppers for 100 units at 200/s over 50
// connections. --down sets how long postgres-stop keeps PostgreSQL stopped (default 5; 300 is the
// issue's 5-minute outage, about 11 minutes in all).
// `flash-sale --before <git ref> [--rounds N]` runs the sale N times (default 2) as that commit's own
// drill runs it (its engines set-up, migrations, services and load) and N times with this tree's, taking
// turns, and prints the ratio of attempts/s per pair: a before/after comparison in one run on the same
// machine state. The commit must have this drill's `flash-sale --json`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, type DrillReport } from './drills/common';
import { flashSaleDrill, FULL_FLASH_SALE } from './drills/flash-sale';
import { paymentWorkerKillDrill } from './drills/payment-worker-kill';
import { poisonMessageDrill } from './drills/poison-message';
import { postgresStopDrill } from './drills/postgres-stop';
import { redisKillDrill } from './drills/redis-kill';
import { sigtermUnderLoadDrill } from './drills/sigterm-under-load';
import { FULL_WAITING_ROOM, waitingRoomDrill } from './drills/waiting-room';

export interface DrillOptions {
  small: boolean;
  /** postgres-stop: seconds PostgreSQL stays stopped. */
  downSeconds?: number;
}

export const DRILLS: Record<string, (options: DrillOptions) => Promise<DrillReport>> = {
  'flash-sale': ({ small }) =>
    flashSaleDrill(small ? { units: 50, attempts: 1000, connections: 100, buyers: 200, progress: true } : { ...FULL_FLASH_SALE, progress: true }),
  'redis-kill': () => redisKillDrill(),
  'postgres-stop': ({ downSeconds }) => postgresStopDrill({ downSeconds }),
  'payment-worker-kill': () => paymentWorkerKillDrill(),
  'sigterm-under-load': () => sigtermUnderLoadDrill(),
  'poison-message': () => poisonMessageDrill(),
  'waiting-room': (small) =>
    waitingRoomDrill(small ? { shoppers: 1000, units: 100, inletPerSecond: 200, connections: 50 } : FULL_WAITING_ROOM),
};

const REPO = join(__dirname, '..');

/** The source of `ref` in a temporary folder (with this tree's node_modules), for a before/after run. */
function exportCommit(ref: string): { root: string; commit: string; remove(): void } {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: REPO, encoding: 'utf8' }).trim();
  const root = mkdtempSync(join(tmpdir(), 'surge-before-'));
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C "${root}"`], { cwd: REPO });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  return { root, commit, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * The flash sale as the drill of the source tree at `root` runs it, in a process of its own: an earlier
 * commit's services need that commit's migrations and tokens, so its drill sets up its own engines.
 */
function flashSaleOf(root: string, small: boolean): DrillReport {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'perf', 'drill.ts'), 'flash-sale', '--json', ...(small ? ['--small'] : [])], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
  const report = run.stdout?.split('\n').find((line) => line.startsWith('{"name"'));
  if (!report) throw new Error(`the drill in ${root} printed no report (exit ${run.status}):\n${(run.stderr ?? '').slice(-2000)}`);
  return JSON.parse(report) as DrillReport;
}

/** Before/after flash sales taking turns; the verdict is the after runs' (the before runs are the baseline). */
async function flashSaleBeforeAfter(ref: string, rounds: number, small: boolean, json: boolean): Promise<number> {
  const before = exportCommit(ref);
  const options = small ? { units: 50, attempts: 1000, connections: 100, buyers: 200 } : FULL_FLASH_SALE;
  const pairs: Array<{ before: DrillReport; after: DrillReport }> = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const b = flashSaleOf(before.root, small);
      b.name = `flash-sale before (${before.commit.slice(0, 7)}) round ${round}`;
      console.log(json ? JSON.stringify(b) : formatReport(b));
      const a = await flashSaleDrill(options);
      a.name = `flash-sale after (this tree) round ${round}`;
      console.log(json ? JSON.stringify(a) : formatReport(a));
      pairs.push({ before: b, after: a });
    }
  } finally {
    before.remove();
  }
  const rate = (r: DrillReport) => Number(r.figures['throughput req/s']);
  const ratios = pairs.map((p) => rate(p.after) / rate(p.before));
  const sorted = [...ratios].sort((x, y) => x - y);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  console.log(
    `flash-sale after/before attempts/s: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median of ${ratios.length}: ${median.toFixed(2)}x)`,
  );
  return pairs.every((p) => p.after.verdict === 'PASS') ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      small: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      down: { type: 'string' },
      before: { type: 'string' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const downSeconds = values.down === undefined ? undefined : Number(values.down);
  if (downSeconds !== undefined && !(Number.isInteger(downSeconds) && downSeconds >= 1 && downSeconds <= 900)) {
    throw new Error(`--down must be whole seconds from 1 to 900, got "${values.down}"`);
  }
  const name = positionals[0];
  if (values.before !== undefined) {
    if (name !== 'flash-sale') throw new Error(`--before compares flash sales only (got "${name}")`);
    const rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number >= 1 (got "${values.rounds}")`);
    return flashSaleBeforeAfter(values.before, rounds, values.small!, values.json!);
  }
  const names = name === 'all' ? Object.keys(DRILLS) : [name];
  if (!name || names.some((n) => !DRILLS[n])) {
    throw new Error(`name a drill: ${[...Object.keys(DRILLS), 'all'].join(', ')}${name ? ` (got "${name}")` : ''}`);
  }
  let failed = 0;
  for (const n of names) {
    const started = Date.now();
    const result = await DRILLS[n]({ small: values.small!, downSeconds });
    result.figures['wall time s'] = Math.round((Date.now() - started) / 100) / 10;
    console.log(values.json ? JSON.stringify(result) : formatReport(result));
    if (result.verdict === 'FAIL') failed++;
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`drill: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
}
