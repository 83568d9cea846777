// Unit tests for the group-commit batcher: when calls go alone, when they wait and share a batch, and
// how a failed batch fails (or is split so only the item at fault fails).
import { createBatcher } from '../batch';

/** A `run` whose batches are recorded and finish only when the test says so. */
function controlledRun() {
  const batches: Array<{ items: number[]; finish: (results?: number[]) => void; fail: (err: unknown) => void }> = [];
  const run = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push({ items, finish: (results) => resolve(results ?? items.map((i) => i * 10)), fail: reject });
    });
  return { batches, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createBatcher', () => {
  it('sends a call alone at once when nothing else is running', async () => {
    const { batches, run } = controlledRun();
    const place = createBatcher(run, { maxBatch: 10, maxInFlight: 2 });
    const result = place(1);
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    batches[0].finish();
    await expect(result).resolves.toBe(10);
  });

  it('puts calls made in the same tick into one batch, in call order, up to maxBatch', async () => {
    const { batches, run } = controlledRun();
    const place = createBatcher(run, { maxBatch: 3, maxInFlight: 2 });
    const results = [1, 2, 3, 4, 5].map((i) => place(i));
    await tick();
    expect(batches.map((b) => b.items)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    batches.forEach((b) => b.finish());
    await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40, 50]);
  });

  it('holds calls while maxInFlight batches run and sends them together when one finishes', async () => {
    const { batches, run } = controlledRun();
    const place = createBatcher(run, { maxBatch: 10, maxInFlight: 1 });
    const first = place(1);
    await tick();
    const later = [2, 3, 4].map((i) => place(i));
    await tick();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    batches[0].finish();
    await first;
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
    batches[1].finish();
    await expect(Promise.all(later)).resolves.toEqual([20, 30, 40]);
  });

  it('fails every call of a failed batch with its error', async () => {
    const { batches, run } = controlledRun();
    const place = createBatcher(run, { maxBatch: 10, maxInFlight: 1 });
    const results = [1, 2].map((i) => place(i).catch((err: Error) => err.message));
    await tick();
    batches[0].fail(new Error('database went away'));
    await expect(Promise.all(results)).resolves.toEqual(['database went away', 'database went away']);
  });

  it('runs each item of a batch alone again when retryAlone says the input is at fault', async () => {
    const { batches, run } = controlledRun();
    const inputError = Object.assign(new Error('invalid input'), { code: '22P02' });
    const place = createBatcher(run, { maxBatch: 10, maxInFlight: 1, retryAlone: (err) => err === inputError });
    const results = [1, 2, 3].map((i) => place(i).catch((err: Error) => err.message));
    await tick();
    batches[0].fail(inputError);
    await tick();
    expect(batches.slice(1).map((b) => b.items)).toEqual([[1], [2], [3]]);
    batches[1].finish();
    batches[2].fail(inputError);
    batches[3].finish();
    await expect(Promise.all(results)).resolves.toEqual([10, 'invalid input', 30]);
  });

  it('rejects a batch whose run returns the wrong number of results', async () => {
    const { batches, run } = controlledRun();
    const place = createBatcher(run, { maxBatch: 10, maxInFlight: 1 });
    const results = [1, 2].map((i) => place(i).catch((err: Error) => err.message));
    await tick();
    batches[0].finish([10]);
    await expect(Promise.all(results)).resolves.toEqual(['batch of 2 returned 1 results', 'batch of 2 returned 1 results']);
  });
});
