// `npm run drill -- <name> [--small] [--down <seconds>]`: a fault drill on this machine (loopback
// only, bounded in time). Names: flash-sale, redis-kill, postgres-stop, payment-worker-kill,
// sigterm-under-load, poison-message, waiting-room, all. Each prints its verdict and figures; exit
// code 1 if a drill fails. --small runs the flash sale at test size (50 units, 1,000 attempts, 100
// connections, 200 buyers) and the waiting room with 1,000 shoppers for 100 units at 200/s over 50
// connections. --down sets how long postgres-stop keeps PostgreSQL stopped (default 5; 300 is the
// issue's 5-minute outage, about 11 minutes in all).
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

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { small: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, down: { type: 'string' } } });
  const downSeconds = values.down === undefined ? undefined : Number(values.down);
  if (downSeconds !== undefined && !(Number.isInteger(downSeconds) && downSeconds >= 1 && downSeconds <= 900)) {
    throw new Error(`--down must be whole seconds from 1 to 900, got "${values.down}"`);
  }
  const name = positionals[0];
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
