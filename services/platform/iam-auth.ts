// IAM database authentication: on AWS a fleet logs in to Aurora as its service's own PostgreSQL role
// (granted rds_iam) with a token signed by the instance role (rds-db:connect on that user), so no
// fleet holds a database password. A token is a SigV4-presigned URL computed locally, no AWS call;
// the server checks it only when a connection logs in, so one is cached per login and renewed well
// before it expires.
// It imports nothing else of Surge: config.ts builds DatabaseCredentials from it.
import type { SignerConfig } from '@aws-sdk/rds-signer';

/** What a new connection logs in to and as: an IAM auth token is signed for exactly this. */
export interface DatabaseLogin {
  readonly host: string;
  readonly port: number;
  readonly user: string;
}

/** DatabaseCredentials (config.ts) whose password is a token for the login; no fixed user, nothing to re-read. */
export interface IamAuthCredentials {
  password(login: DatabaseLogin): Promise<string>;
  readonly generation: number;
  refresh(): Promise<boolean>;
}

/** How long a token is accepted after signing (the signer's fixed X-Amz-Expires of 900 s). */
export const TOKEN_LIFETIME_MS = 15 * 60_000;

/**
 * A cached token is replaced this long before it expires, so no connection attempt is handed a token
 * minutes from expiring (clock skew, a slow TLS handshake during a failover).
 */
export const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

export interface IamAuthOptions {
  /** Region of the cluster (part of the signature). */
  readonly region: string;
  /**
   * What signs the tokens.
   * @default - the default provider chain: the instance role on EC2. The signer swaps credentials
   * that would expire within a token's lifetime for fresh ones, so a token lasts its full 15 minutes.
   */
  readonly credentials?: SignerConfig['credentials'];
  /** The clock deciding when a cached token is renewed (a test seam). @default Date.now */
  readonly now?: () => number;
}

/**
 * Credentials whose password for a login is an IAM auth token for that user, host and port: one token
 * per login, shared by every connection opened while it is fresh (pg asks for the password once per
 * new connection). A signing that fails (instance credentials not available yet) is not kept, so the
 * next connection tries again. Nothing rotates, so `refresh()` has nothing to re-read.
 */
export function iamAuthCredentials(options: IamAuthOptions): IamAuthCredentials {
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { token: Promise<string>; renewAt: number }>();
  return {
    password(login: DatabaseLogin) {
      const key = `${login.user}@${login.host}:${login.port}`;
      const at = now();
      const cached = tokens.get(key);
      if (cached && at < cached.renewAt) return cached.token;
      const entry = { token: signToken(login, options), renewAt: at + TOKEN_LIFETIME_MS - RENEW_BEFORE_EXPIRY_MS };
      tokens.set(key, entry);
      entry.token.catch(() => {
        if (tokens.get(key) === entry) tokens.delete(key);
      });
      return entry.token;
    },
    generation: 0,
    async refresh() {
      return false;
    },
  };
}

async function signToken(login: DatabaseLogin, options: IamAuthOptions): Promise<string> {
  // Loaded on first use: local runs and tests that never sign do not pay for the SDK.
  const { Signer } = await import('@aws-sdk/rds-signer');
  const signer = new Signer({ hostname: login.host, port: login.port, username: login.user, region: options.region, credentials: options.credentials });
  return signer.getAuthToken();
}
