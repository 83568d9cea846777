// Password hashing with scrypt (node:crypto). Each hash records its own parameters,
// `scrypt$N$r$p$salt$hash`, so the cost can be raised without invalidating stored hashes: a hash made
// with other parameters still verifies, and `needsRehash` tells the login to store a new one.
// N=2^17, r=8, p=1 is OWASP's minimum for scrypt (Password Storage Cheat Sheet): 128 MiB, about 4x
// the cost of the N=2^15 used before (measured side by side by perf/password-cost.ts; figures in
// services/README.md).
// Node runs scrypt on the libuv thread pool (4 threads by default), so at most four hashes are in
// memory at once per process (512 MiB); logins and registrations are rate limited per address and
// per account on top of it.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_PARAMETERS = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** scrypt's working memory (128 x N x r bytes) plus room for the rest, as `maxmem` must allow. */
const memoryFor = (n: number, r: number) => 128 * n * r * 2;

export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = SCRYPT_PARAMETERS;
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: memoryFor(N, r) });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: memoryFor(Number(n), Number(r)),
  });
  return timingSafeEqual(actual, expected);
}

/** True when a stored hash was made with other parameters than today's: store a new one after a good login. */
export function needsRehash(stored: string): boolean {
  const [scheme, n, r, p] = stored.split('$');
  const { N, r: R, p: P } = SCRYPT_PARAMETERS;
  return scheme !== 'scrypt' || Number(n) !== N || Number(r) !== R || Number(p) !== P;
}

/** A real hash of a random password: checked against when the email is unknown, so both cases take as long. */
export const UNKNOWN_USER_HASH: Promise<string> = hashPassword(randomBytes(16).toString('hex'));
