// `npx tsx perf/password-cost.ts [rounds]`: the cost of one password hash at today's scrypt parameters
// (services/user/passwords.ts at the deployed minimum, PASSWORD_HASH_LOG2_N=17) next to the previous ones (N=2^15), measured side by side in one run,
// interleaved, one hash at a time: wall time per hash and the ratio.
import { randomBytes, scrypt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MIN_DEPLOYED_PASSWORD_HASH_LOG2_N } from '../services/platform/config';
import { createPasswordHasher } from '../services/user/passwords';

const previous = (password: string) =>
  new Promise<void>((resolve, reject) =>
    scrypt(password, randomBytes(16), 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 128 * 2 ** 15 * 8 * 2 }, (err) => (err ? reject(err) : resolve())),
  );

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 10);
  const hasher = createPasswordHasher(MIN_DEPLOYED_PASSWORD_HASH_LOG2_N);
  // The hasher makes its unknown-user hash at once: not while a measured hash runs.
  await hasher.unknownUserHash;
  const times = { current: [] as number[], previous: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    let started = performance.now();
    await hasher.hash(`password-${i}`);
    times.current.push(performance.now() - started);
    started = performance.now();
    await previous(`password-${i}`);
    times.previous.push(performance.now() - started);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const { N, r, p } = hasher.parameters;
  console.log(`scrypt N=2^${Math.log2(N)} r=${r} p=${p}: median ${median(times.current).toFixed(0)} ms per hash (min ${Math.min(...times.current).toFixed(0)}, max ${Math.max(...times.current).toFixed(0)}), ${(128 * N * r) / 2 ** 20} MiB`);
  console.log(`scrypt N=2^15 r=8 p=1: median ${median(times.previous).toFixed(0)} ms per hash (min ${Math.min(...times.previous).toFixed(0)}, max ${Math.max(...times.previous).toFixed(0)}), 32 MiB`);
  console.log(`ratio ${(median(times.current) / median(times.previous)).toFixed(2)}x over ${rounds} interleaved rounds`);
}

void main();
