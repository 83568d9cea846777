// Token keys: Ed25519 JWKs in a key set (the current key first, then the previous one), how a set is
// checked and imported, and how a key is made - freshly (rotation, tests) or derived from a random
// secret string (the stack's TokenSigningKey). The token service (auth.ts) signs and verifies with
// them; config.ts loads them. This module imports nothing else of Surge.
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { importJWK, type JWK } from 'jose';

/** The JWS algorithm of every token: EdDSA with Ed25519 keys. */
export const ALGORITHM = 'EdDSA';

/** A JWKS: the current key first, then the previous one. Private keys (with `d`) only on the user fleet. */
export interface TokenKeySet {
  keys: JWK[];
}

/** Reads the key set (a secret on AWS); called at start and again when keys may have rotated. */
export type TokenKeySource = () => Promise<TokenKeySet>;

export interface ImportedKeys {
  /** The current private key and its kid; undefined on fleets that only verify. */
  signing?: { kid: string; key: KeyObject };
  verifying: Map<string, KeyObject>;
}

/** Checks and imports a key set; throws naming what is wrong (config turns it into a ConfigError). */
export async function importTokenKeys(set: TokenKeySet): Promise<ImportedKeys> {
  if (!set || !Array.isArray(set.keys) || set.keys.length === 0) throw new Error('the key set has no keys');
  const verifying = new Map<string, KeyObject>();
  let signing: ImportedKeys['signing'];
  for (const jwk of set.keys) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string' || jwk.kid === '') {
      throw new Error('every key must be an Ed25519 JWK (kty OKP, crv Ed25519) with a kid');
    }
    const { d, ...publicPart } = jwk;
    verifying.set(jwk.kid, (await importJWK(publicPart, ALGORITHM)) as KeyObject);
    // The first private key signs; later ones (the previous key) only verify.
    if (d !== undefined && signing === undefined && jwk === set.keys[0]) signing = { kid: jwk.kid, key: (await importJWK(jwk, ALGORITHM)) as KeyObject };
  }
  return { signing, verifying };
}

/** A fresh Ed25519 key as a private JWK named `kid` (rotation, tests). */
export function generateTokenKey(kid: string): JWK {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid, alg: ALGORITHM, use: 'sig' };
}

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The Ed25519 key derived from a random secret string (the seed is its SHA-256), as a private JWK
 * whose kid is taken from its public key. For a secret Secrets Manager generated as a random
 * password (the stack's TokenSigningKey): rotating the secret's value rotates the key.
 */
export function tokenKeyFromSecret(secret: string): JWK {
  const seed = createHash('sha256').update(secret, 'utf8').digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = `sm-${createHash('sha256').update(jwk.x as string).digest('base64url').slice(0, 16)}`;
  return { ...jwk, kid, alg: ALGORITHM, use: 'sig' };
}

/**
 * The key set a generated secret string stands for (the stack's TokenSigningKey): the current value's
 * key signs, the previous value's (AWSPREVIOUS after `npm run rotate-token-key`) still verifies, so
 * rotating logs no one out. `read` returns a version's value, undefined for a version that does not
 * exist (never rotated yet).
 */
export async function keySetFromSecretVersions(read: (versionStage?: 'AWSPREVIOUS') => Promise<string | undefined>): Promise<TokenKeySet> {
  const currentValue = await read();
  if (currentValue === undefined) throw new Error('the signing key secret has no current value');
  const current = tokenKeyFromSecret(currentValue.trim());
  const previousValue = await read('AWSPREVIOUS');
  const previous = previousValue === undefined ? undefined : tokenKeyFromSecret(previousValue.trim());
  return { keys: previous && previous.kid !== current.kid ? [current, previous] : [current] };
}

/** The public half of a key set: what the verifying fleets get. */
export function publicKeySet(set: TokenKeySet): TokenKeySet {
  return { keys: set.keys.map(({ d: _private, ...publicPart }) => publicPart) };
}
