// Access tokens: EdDSA (Ed25519) JWTs. Only the user fleet holds the private key and signs; every
// other fleet holds the public keys (a JWKS) and verifies locally without calling the user service,
// so a compromised order or payment instance cannot mint tokens. Each token names its key (`kid`);
// a key set holds the current key first and the previous one after it, and verification accepts
// both, so a rotation (ops/rotate-token-keys.ts) logs no one out. A token with a `kid` this process
// does not know makes it re-read its key source (at most every KEY_REFRESH_MIN_MS), and the signer
// re-reads it every SIGNER_REFRESH_MS, so rotated keys are picked up without a restart.
// `requireUser` is the route preHandler that demands a token.
import type { FastifyRequest } from 'fastify';
import { decodeProtectedHeader, SignJWT, jwtVerify } from 'jose';
import { unauthorized } from './errors';
import { ALGORITHM, importTokenKeys, type TokenKeySource } from './token-keys';

const ISSUER = 'surge-user-service';
const AUDIENCE = 'surge-api';

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
  return bearerFromHeader(request.headers.authorization);
}

/** The token of an `Authorization` header's value, or undefined (hot paths read the header themselves). */
export function bearerFromHeader(header: string | undefined): string | undefined {
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
