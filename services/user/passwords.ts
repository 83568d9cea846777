// Password hashing with scrypt (node:crypto). Each hash records its own parameters,
// `scrypt$N$r$p$salt$hash`, so the cost can be raised without invalidating stored hashes: a hash made
// with other parameters still verifies, and `needsRehash` tells the login to store a new one.
// The cost comes from config (PASSWORD_HASH_LOG2_N): N=2^17, r=8, p=1 by default and at least that in
// every deployed environment, OWASP's minimum for scrypt (Password Storage Cheat Sheet): 128 MiB, about
// 4x the cost of the N=2^15 used before (measured side by side by perf/password-cost.ts; figures in
// services/README.md). The tests' services use 2^10.
// Node runs scrypt on the libuv thread pool (4 threads by default), so at most four hashes are in
// memory at once per process (512 MiB); logins and registrations are rate limited per address and
// per account on top of it.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** scrypt's working memory (128 x N x r bytes) plus room for the rest, as `maxmem` must allow. */
const memoryFor = (n: number, r: number) => 128 * n * r * 2;

export interface PasswordHasher {
  /** scrypt's parameters for new hashes. */
  readonly parameters: { readonly N: number; readonly r: number; readonly p: number };
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /** True when a stored hash was made with other parameters than today's: store a new one after a good login. */
  needsRehash(stored: string): boolean;
  /**
   * A real hash of a random password, made when the hasher is: checked against when the email is
   * unknown, so both cases take as long.
   */
  readonly unknownUserHash: Promise<string>;
}

export function createPasswordHasher(log2N: number): PasswordHasher {
  const parameters = { N: 2 ** log2N, r: R, p: P };
  const hash = async (password: string) => {
    const { N, r, p } = parameters;
    const salt = randomBytes(SALT_LENGTH);
    const key = await scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: memoryFor(N, r) });
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  };
  const unknownUserHash = hash(randomBytes(16).toString('hex'));
  // A failure here surfaces at the first login that awaits it, not as an unhandled rejection.
  unknownUserHash.catch(() => undefined);
  return {
    parameters,
    hash,
    async verify(password, stored) {
      const [scheme, n, r, p, salt, hashed] = stored.split('$');
      if (scheme !== 'scrypt' || !hashed) return false;
      const expected = Buffer.from(hashed, 'base64url');
      const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
        N: Number(n),
        r: Number(r),
        p: Number(p),
        maxmem: memoryFor(Number(n), Number(r)),
      });
      return timingSafeEqual(actual, expected);
    },
    needsRehash(stored) {
      const [scheme, n, r, p] = stored.split('$');
      return scheme !== 'scrypt' || Number(n) !== parameters.N || Number(r) !== parameters.r || Number(p) !== parameters.p;
    },
    unknownUserHash,
  };
}
