// Access tokens: EdDSA (Ed25519) JWTs. Only the user fleet holds the private key and signs; every
// other fleet holds the public keys (a JWKS) and verifies locally without calling the user service,
// so a compromised order or payment instance cannot mint tokens. Each token names its key (`kid`);
// a key set holds the current key first and the previous one after it, and verification accepts
// both, so a rotation (ops/rotate-token-keys.ts) logs no one out. A token with a `kid` this process
// does not know makes it re-read its key source (at most every KEY_REFRESH_MIN_MS), and the signer
// re-reads it every SIGNER_REFRESH_MS, so rotated keys are picked up without a restart.
// `requireUser` is the route preHandler that demands a token.
import { createHash, createPrivateKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { decodeProtectedHeader, importJWK, SignJWT, jwtVerify, type JWK } from 'jose';
import { unauthorized } from './errors';

const ISSUER = 'surge-user-service';
const AUDIENCE = 'surge-api';
const ALGORITHM = 'EdDSA';

/** A JWKS: the current key first, then the previous one. Private keys (with `d`) only on the user fleet. */
export interface TokenKeySet {
  keys: JWK[];
}

/** Reads the key set (a secret on AWS); called at start and again when keys may have rotated. */
export type TokenKeySource = () => Promise<TokenKeySet>;

/** A key set seen at most this often when tokens name unknown keys (a forged `kid` cannot flood the source). */
export const KEY_REFRESH_MIN_MS = 30_000;
/** How often a signer re-reads its key set, so a rotated key is signing within this long. */
export const SIGNER_REFRESH_MS = 5 * 60_000;

export interface TokenService {
  issue(userId: string): Promise<{ token: string; expiresAt: string }>;
  /** Resolves the token's user; rejects with a 401 AppError if the token is invalid or expired. */
  verify(token: string): Promise<{ userId: string }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Installed by buildApp; used by requireUser and the rate limiter. */
    tokens: TokenService;
  }
  interface FastifyRequest {
    /** Set by requireUser; only meaningful on routes that use it. */
    userId: string;
  }
}

/** Verified tokens remembered per process (a buyer sends the same token with every request). */
const VERIFIED_TOKENS_KEPT = 10000;

interface ImportedKeys {
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

export interface TokenServiceOptions {
  keys: TokenKeySource;
  ttlSeconds?: number;
  now?: () => number;
}

export async function createTokenService({ keys: source, ttlSeconds = 3600, now = Date.now }: TokenServiceOptions): Promise<TokenService> {
  let keys = await importTokenKeys(await source());
  let loadedAt = now();
  let reloading: Promise<void> | undefined;
  const reload = () => {
    reloading ??= source()
      .then(importTokenKeys)
      .then((fresh) => {
        keys = fresh;
      })
      // A source that fails (Secrets Manager throttled) keeps the keys already held.
      .catch(() => undefined)
      .finally(() => {
        loadedAt = now();
        reloading = undefined;
      });
    return reloading;
  };
  // token -> its user and expiry. Only tokens that passed full verification are kept, looked up by
  // their exact text (a changed or forged token never matches) and only until they expire; the
  // oldest entry goes first when full. Saves the signature and claim checks on repeat requests.
  const verified = new Map<string, { userId: string; expiresAtMs: number }>();
  const keyFor = async (token: string) => {
    const { kid, alg } = decodeProtectedHeader(token);
    if (alg !== ALGORITHM || typeof kid !== 'string') return undefined;
    if (!keys.verifying.has(kid) && now() - loadedAt >= KEY_REFRESH_MIN_MS) await reload();
    return keys.verifying.get(kid);
  };
  return {
    async issue(userId) {
      if (now() - loadedAt >= SIGNER_REFRESH_MS) void reload();
      const signing = keys.signing;
      if (!signing) throw new Error('this fleet holds only public token keys: tokens are issued by the user service');
      const expiresAtSeconds = Math.floor(now() / 1000) + ttlSeconds;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: signing.kid })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(Math.floor(now() / 1000))
        .setExpirationTime(expiresAtSeconds)
        .sign(signing.key);
      return { token, expiresAt: new Date(expiresAtSeconds * 1000).toISOString() };
    },
    async verify(token) {
      const known = verified.get(token);
      if (known) {
        if (known.expiresAtMs > now()) return { userId: known.userId };
        verified.delete(token);
      }
      try {
        const key = await keyFor(token);
        if (!key) throw new Error('unknown key');
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: ISSUER,
          audience: AUDIENCE,
          currentDate: new Date(now()),
          requiredClaims: ['exp'],
        });
        if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('token has no subject');
        if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value as string);
        verified.set(token, { userId: payload.sub, expiresAtMs: payload.exp! * 1000 });
        return { userId: payload.sub };
      } catch {
        throw unauthorized('The access token is invalid or expired');
      }
    },
  };
}

/** The token in `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

// The rate limiter and requireUser both need the token's user; verify it once per request.
const verifiedTokens = new WeakMap<FastifyRequest, Promise<{ userId: string }>>();

/** The user of the request's Bearer token (verified once per request); rejects with a 401 AppError. */
export function verifyBearer(request: FastifyRequest, token: string): Promise<{ userId: string }> {
  let verified = verifiedTokens.get(request);
  if (!verified) {
    verified = request.server.tokens.verify(token);
    verifiedTokens.set(request, verified);
  }
  return verified;
}

/** Route preHandler: sets `request.userId` from a valid Bearer token, otherwise answers 401. */
export async function requireUser(request: FastifyRequest): Promise<void> {
  const token = bearerToken(request);
  if (!token) throw unauthorized('A Bearer access token is required');
  const { userId } = await verifyBearer(request, token);
  request.userId = userId;
}
