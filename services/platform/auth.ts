// Access tokens: HS256 JWTs signed with a key every service holds, so each service verifies a token
// locally without calling the user service. `requireUser` is the route preHandler that demands one.
import { createSecretKey } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SignJWT, jwtVerify } from 'jose';
import { unauthorized } from './errors';

const ISSUER = 'surge-user-service';
const AUDIENCE = 'surge-api';

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

export function createTokenService(signingKey: string, ttlSeconds = 3600, now: () => number = Date.now): TokenService {
  // A KeyObject made once: given raw bytes, jose would build one on every call.
  const key = createSecretKey(Buffer.from(signingKey, 'utf8'));
  // token -> its user and expiry. Only tokens that passed full verification are kept, looked up by
  // their exact text (a changed or forged token never matches) and only until they expire; the
  // oldest entry goes first when full. Saves the HMAC and claim checks on repeat requests.
  const verified = new Map<string, { userId: string; expiresAtMs: number }>();
  return {
    async issue(userId) {
      const expiresAtSeconds = Math.floor(now() / 1000) + ttlSeconds;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(Math.floor(now() / 1000))
        .setExpirationTime(expiresAtSeconds)
        .sign(key);
      return { token, expiresAt: new Date(expiresAtSeconds * 1000).toISOString() };
    },
    async verify(token) {
      const known = verified.get(token);
      if (known) {
        if (known.expiresAtMs > now()) return { userId: known.userId };
        verified.delete(token);
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
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
