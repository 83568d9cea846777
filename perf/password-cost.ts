// `npx tsx perf/password-cost.ts [rounds]`: the cost of one password hash at today's scrypt parameters
// (services/user/passwords.ts) next to the previous ones (N=2^15), measured side by side in one run,
// interleaved, one hash at a time: wall time per hash and the ratio.
import { randomBytes, scrypt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { hashPassword, SCRYPT_PARAMETERS } from '../services/user/passwords';

const previous = (password: string) =>
  new Promise<void>((resolve, reject) =>
    scrypt(password, randomBytes(16), 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 128 * 2 ** 15 * 8 * 2 }, (err) => (err ? reject(err) : resolve())),
  );

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 10);
  const times = { current: [] as number[], previous: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    let started = performance.now();
    await hashPassword(`password-${i}`);
    times.current.push(performance.now() - started);
    started = performance.now();
    await previous(`password-${i}`);
    times.previous.push(performance.now() - started);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const { N, r, p } = SCRYPT_PARAMETERS;
  console.log(`scrypt N=2^${Math.log2(N)} r=${r} p=${p}: median ${median(times.current).toFixed(0)} ms per hash (min ${Math.min(...times.current).toFixed(0)}, max ${Math.max(...times.current).toFixed(0)}), ${(128 * N * r) / 2 ** 20} MiB`);
  console.log(`scrypt N=2^15 r=8 p=1: median ${median(times.previous).toFixed(0)} ms per hash (min ${Math.min(...times.previous).toFixed(0)}, max ${Math.max(...times.previous).toFixed(0)}), 32 MiB`);
  console.log(`ratio ${(median(times.current) / median(times.previous)).toFixed(2)}x over ${rounds} interleaved rounds`);
}

void main();
