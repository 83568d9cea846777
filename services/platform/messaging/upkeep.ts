// Scheduled upkeep on the worker fleet: jobs that keep tables from growing forever (deleting sent
// outbox rows and expired Idempotency-Keys) and report what needs an operator (parked outbox rows).
// Every worker instance runs them; the deletes take their rows with SKIP LOCKED, so instances share
// the work instead of waiting on each other, and each pass is bounded (deleteInBatches) so a backlog
// after an outage is worked off over several passes instead of in one long transaction.
import type { Logger } from 'pino';

/** One thing upkeep does each pass. */
export interface UpkeepJob {
  /** Named in logs when the job fails. */
  readonly name: string;
  run(): Promise<void>;
}

export interface UpkeepOptions {
  readonly jobs: readonly UpkeepJob[];
  readonly logger: Pick<Logger, 'error'>;
  /** Pause between passes, in ms; the first pass runs at start. @default 60000 */
  readonly intervalMs?: number;
}

/** Rows deleted per statement: short transactions, small WAL bursts, locks held briefly. */
export const DELETE_BATCH_ROWS = 1_000;
/** Statements per job and pass: at most 50,000 rows a minute per job and instance. */
export const DELETE_BATCHES_PER_PASS = 50;

/**
 * Calls `deleteBatch(limit)` until it deletes fewer than `limit` rows (nothing old is left) or
 * `maxBatches` statements have run; returns the rows deleted.
 */
export async function deleteInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  { batchRows = DELETE_BATCH_ROWS, maxBatches = DELETE_BATCHES_PER_PASS } = {},
): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const rows = await deleteBatch(batchRows);
    deleted += rows;
    if (rows < batchRows) break;
  }
  return deleted;
}

/** Runs every job once per interval until stopped; a failing job is logged and tried again next pass. */
export function startUpkeep(opts: UpkeepOptions): { stop(): Promise<void> } {
  const intervalMs = opts.intervalMs ?? 60_000;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    while (!stopped) {
      for (const job of opts.jobs) {
        if (stopped) break;
        try {
          await job.run();
        } catch (err) {
          opts.logger.error({ err, job: job.name }, 'upkeep: job failed; it runs again next pass');
        }
      }
      if (!stopped) await pause();
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
