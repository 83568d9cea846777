// Group commit: concurrent calls coalesced into batches, so that N writes cost one round trip and one
// transaction instead of N. A call waits only while `maxInFlight` batches are already running: when
// the system is idle a call goes alone at once (no timer, no added latency), and under load the calls
// that arrive while earlier batches run go together in the next one - the batch grows with the load.

export interface BatcherOptions {
  /** Most items in one batch. */
  maxBatch: number;
  /** Most batches running at once (each holds one database connection, say). */
  maxInFlight: number;
  /**
   * When a batch of more than one fails with an error for which this is true (the input's fault, not
   * the database's), each of its items is run again alone, so that only the items at fault fail.
   * @default never: every item of a failed batch fails with the batch's error
   */
  retryAlone?: (err: unknown) => boolean;
}

interface Waiting<I, O> {
  item: I;
  resolve: (result: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Returns a function that runs `item` as part of a batch: `run(items)` must return one result per
 * item, in the same order.
 */
export function createBatcher<I, O>(run: (items: I[]) => Promise<O[]>, options: BatcherOptions): (item: I) => Promise<O> {
  const waiting: Array<Waiting<I, O>> = [];
  let inFlight = 0;
  let scheduled = false;

  const runBatch = async (batch: Array<Waiting<I, O>>): Promise<void> => {
    try {
      const results = await run(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`batch of ${batch.length} returned ${results.length} results`);
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (err) {
      if (batch.length > 1 && options.retryAlone?.(err)) {
        await Promise.all(batch.map((w) => runBatch([w])));
      } else {
        for (const w of batch) w.reject(err);
      }
    }
  };

  const start = () => {
    scheduled = false;
    while (waiting.length > 0 && inFlight < options.maxInFlight) {
      inFlight += 1;
      void runBatch(waiting.splice(0, options.maxBatch)).finally(() => {
        inFlight -= 1;
        schedule();
      });
    }
  };

  // Calls made in the same tick go together: the batch starts once the current task's work is done.
  const schedule = () => {
    if (scheduled || waiting.length === 0 || inFlight >= options.maxInFlight) return;
    scheduled = true;
    queueMicrotask(start);
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      schedule();
    });
}
