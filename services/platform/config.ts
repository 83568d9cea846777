// Service configuration: every environment variable a service reads is parsed and validated here,
// once, at start. A bad value throws ConfigError naming the variable, which stops the process.
// On AWS the secrets (database credentials, Redis AUTH token, token signing key) are ARNs that are
// resolved through a SecretSource; tests inject a fake one so they never call AWS.
import { readFileSync } from 'node:fs';
import { importTokenKeys, tokenKeyFromSecret, type TokenKeySet, type TokenKeySource } from './auth';

export type SurgeEnv = 'dev' | 'prod' | 'local';

/** The rate limit policies a route can name in `config: { rateLimit: { policy } }`. */
export type RateLimitPolicyName = 'orders' | 'login' | 'loginAccount' | 'register' | 'default';

/** A token bucket: `capacity` requests at once, refilled continuously at `refillPerSecond`. */
export interface RateLimitPolicy {
  readonly name: RateLimitPolicyName;
  readonly capacity: number;
  readonly refillPerSecond: number;
}

export interface DatabaseConfig {
  /** Connection string of the writer (Aurora cluster endpoint). */
  readonly writerUrl: string;
  /** Connection string of the reader (Aurora reader endpoint); the writer when none is given. */
  readonly readerUrl: string;
  /** Connections per pool (writer and reader each). */
  readonly poolMax: number;
  /** TLS for the connection; undefined for plain TCP (local PostgreSQL, PGlite). */
  readonly tls?: { readonly ca?: string };
}

export interface ServiceConfig {
  readonly env: SurgeEnv;
  readonly port: number;
  /** Listen address: all interfaces on AWS (the ALB connects to the instance), localhost locally. */
  readonly host: string;
  /** Apply pending migrations when a service starts (under an advisory lock, so instances may race). */
  readonly migrateOnStart: boolean;
  readonly logLevel: string;
  readonly database: DatabaseConfig;
  /** redis:// or rediss:// URL; undefined means an in-memory cache and rate limiter (local only). */
  readonly redisUrl?: string;
  /** Redis Cluster (ElastiCache cluster mode): `redisUrl` names a seed node, the configuration endpoint. */
  readonly redisCluster: boolean;
  readonly sqs: {
    readonly endpoint?: string;
    readonly region: string;
    readonly orderPlacedQueueUrl?: string;
    readonly paymentResultQueueUrl?: string;
  };
  /**
   * Where the token keys come from, re-read when they may have rotated: the private key set on the
   * user fleet (it signs), the public keys elsewhere (they verify). Checked once at start.
   */
  readonly tokenKeys: TokenKeySource;
  readonly tokenTtlSeconds: number;
  readonly shutdownDeadlineMs: number;
  /**
   * After SIGTERM, how long readiness answers 503 while the listener stays open, so a load balancer
   * that was not told about the shutdown stops routing first. 0 when the ALB deregisters the target
   * before the instance is stopped (Auto Scaling terminations do).
   */
  readonly drainDelayMs: number;
  readonly queueHandlerTimeoutMs: number;
  /** Largest accepted request body; larger ones get 413. */
  readonly bodyLimitBytes: number;
  /** Proxy hops in front of the service whose X-Forwarded-For entries are trusted (CloudFront + ALB = 2). */
  readonly trustedProxyHops: number;
  readonly rateLimits: Readonly<Record<RateLimitPolicyName, RateLimitPolicy>>;
  readonly payment: { readonly sandboxLatencyMs: number };
  /** How often aggregated metrics are written (CloudWatch EMF lines on stdout); 0 turns it off. */
  readonly metricsFlushMs: number;
  /** Single products are read through the cache; false sends every read to the reader pool (benchmarks). */
  readonly productCache: boolean;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Reads a secret's string value by ARN; production uses Secrets Manager, tests a fake. */
export interface SecretSource {
  /** The AWSCURRENT value, or the version in `versionStage` (e.g. AWSPREVIOUS). */
  getSecretString(arn: string, versionStage?: string): Promise<string>;
}

/** Secrets Manager through the AWS SDK, loaded only when an ARN is configured. */
export function secretsManagerSource(region: string): SecretSource {
  return {
    async getSecretString(arn, versionStage) {
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const client = new SecretsManagerClient({ region });
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: versionStage }));
        if (out.SecretString === undefined) throw new Error(`secret ${arn} has no string value`);
        return out.SecretString;
      } finally {
        client.destroy();
      }
    },
  };
}

type Env = Record<string, string | undefined>;

/** Local development token key (Ed25519): fine on a laptop and in tests, refused in dev and prod. */
export const LOCAL_TOKEN_KEYS: TokenKeySet = {
  keys: [
    {
      kty: 'OKP',
      crv: 'Ed25519',
      kid: 'local-not-for-deployed-environments',
      alg: 'EdDSA',
      x: 'b632V4MaYBv0fHRdjsStYBQN4fp4kI8q8aY4RYyeF7o',
      d: 'ujvK3dX3LQ-ACmy2wA3E5LLlar_VfEnoEjx0P5TKcBw',
    },
  ],
};

export async function loadConfig(env: Env = process.env, secrets?: SecretSource): Promise<ServiceConfig> {
  const surgeEnv = parseEnvName(env);
  const shutdownDeadlineMs = integer(env, 'SHUTDOWN_DEADLINE_MS', 20000, 100, 300000);
  const drainDelayMs = integer(env, 'DRAIN_DELAY_MS', 0, 0, 300000);
  if (drainDelayMs >= shutdownDeadlineMs) {
    throw new ConfigError('DRAIN_DELAY_MS', `must be shorter than SHUTDOWN_DEADLINE_MS (${shutdownDeadlineMs})`);
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const source = secrets ?? secretsManagerSource(region);
  const deployed = surgeEnv !== 'local';

  return {
    env: surgeEnv,
    port: integer(env, 'PORT', deployed ? 8080 : 3000, 0, 65535),
    host: env.HOST || (deployed ? '0.0.0.0' : 'localhost'),
    migrateOnStart: oneOf(env, 'MIGRATE_ON_START', ['true', 'false'] as const, 'true') === 'true',
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    database: await loadDatabaseConfig(env, source),
    ...(await redisConfig(env, source, deployed)),
    sqs: {
      endpoint: optionalUrl(env, 'SQS_ENDPOINT'),
      region,
      orderPlacedQueueUrl: optionalUrl(env, 'ORDER_PLACED_QUEUE_URL'),
      paymentResultQueueUrl: optionalUrl(env, 'PAYMENT_RESULT_QUEUE_URL'),
    },
    tokenKeys: await tokenKeys(env, source, deployed),
    tokenTtlSeconds: integer(env, 'TOKEN_TTL_SECONDS', 3600, 60, 86400),
    shutdownDeadlineMs,
    drainDelayMs,
    queueHandlerTimeoutMs: integer(env, 'QUEUE_HANDLER_TIMEOUT_MS', 30000, 100, 600000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    trustedProxyHops: integer(env, 'TRUSTED_PROXY_HOPS', deployed ? 2 : 0, 0, 10),
    rateLimits: {
      orders: perMinute('orders', integer(env, 'RATE_LIMIT_ORDERS_PER_MINUTE', 20, 1, 1_000_000)),
      // Login per client address, and per account whatever the address (a botnet guessing one
      // password); registration per address, low, since each one costs a password hash.
      login: perMinute('login', integer(env, 'RATE_LIMIT_LOGIN_PER_MINUTE', 10, 1, 1_000_000)),
      loginAccount: perMinute('loginAccount', integer(env, 'RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE', 10, 1, 1_000_000)),
      register: perMinute('register', integer(env, 'RATE_LIMIT_REGISTER_PER_MINUTE', 5, 1, 1_000_000)),
      default: {
        name: 'default',
        capacity: integer(env, 'RATE_LIMIT_DEFAULT_BURST', 100, 1, 1_000_000),
        refillPerSecond: integer(env, 'RATE_LIMIT_DEFAULT_PER_SECOND', 50, 1, 1_000_000),
      },
    },
    payment: { sandboxLatencyMs: integer(env, 'PAYMENT_SANDBOX_LATENCY_MS', 50, 0, 60000) },
    metricsFlushMs: integer(env, 'METRICS_FLUSH_MS', deployed ? 60000 : 0, 0, 3600000),
    productCache: oneOf(env, 'PRODUCT_CACHE', ['on', 'off'] as const, 'on') === 'on',
  };
}

/**
 * The database part alone, for commands that need nothing else (`npm run migrate`, `npm run seed`).
 * Either DATABASE_URL (+ DATABASE_READER_URL), or on AWS DB_WRITER_HOST, DB_READER_HOST, DB_PORT,
 * DB_NAME and DB_SECRET_ARN (a JSON secret {username, password}); the latter always uses TLS.
 */
export async function loadDatabaseConfig(env: Env = process.env, secrets?: SecretSource): Promise<DatabaseConfig> {
  const poolMax = integer(env, 'DB_POOL_MAX', 10, 1, 500);
  if (env.DATABASE_URL) {
    const writerUrl = requiredUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
    const readerUrl = env.DATABASE_READER_URL ? requiredUrl(env, 'DATABASE_READER_URL', ['postgres:', 'postgresql:']) : writerUrl;
    return { writerUrl, readerUrl, poolMax };
  }
  if (!env.DB_WRITER_HOST) {
    throw new ConfigError('DATABASE_URL', 'is required (or DB_WRITER_HOST with DB_SECRET_ARN on AWS)');
  }
  const secretArn = env.DB_SECRET_ARN;
  if (!secretArn) throw new ConfigError('DB_SECRET_ARN', 'is required when DB_WRITER_HOST is set');
  const source = secrets ?? secretsManagerSource(env.AWS_REGION ?? 'us-east-1');
  const credentials = parseJsonSecret('DB_SECRET_ARN', await source.getSecretString(secretArn));
  const username = credentials.username;
  const password = credentials.password;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new ConfigError('DB_SECRET_ARN', 'secret must be JSON with string fields "username" and "password"');
  }
  const port = integer(env, 'DB_PORT', 5432, 1, 65535);
  const name = env.DB_NAME ?? 'surge';
  const url = (host: string) =>
    `postgres://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(name)}`;
  // Node's CA store lacks the RDS CAs; DB_CA_BUNDLE points at the bundle the instance downloaded.
  const caPath = env.DB_CA_BUNDLE;
  let ca: string | undefined;
  if (caPath) {
    try {
      ca = readFileSync(caPath, 'utf8');
    } catch (err) {
      throw new ConfigError('DB_CA_BUNDLE', `cannot read ${caPath}: ${(err as Error).message}`);
    }
  }
  return {
    writerUrl: url(env.DB_WRITER_HOST),
    readerUrl: url(env.DB_READER_HOST ?? env.DB_WRITER_HOST),
    poolMax,
    tls: { ca },
  };
}

function parseEnvName(env: Env): SurgeEnv {
  return oneOf(env, 'SURGE_ENV', ['dev', 'prod', 'local'] as const, 'local');
}

async function redisConfig(env: Env, secrets: SecretSource, deployed: boolean): Promise<Pick<ServiceConfig, 'redisUrl' | 'redisCluster'>> {
  const redisCluster = oneOf(env, 'REDIS_CLUSTER', ['true', 'false'] as const, 'false') === 'true';
  const url = await redisUrl(env, secrets, deployed);
  // Without a Redis the services would silently run the in-memory cache instead of the cluster asked for.
  if (redisCluster && !url) throw new ConfigError('REDIS_CLUSTER', 'is true but no Redis is configured (set REDIS_URL or REDIS_HOST)');
  return { redisUrl: url, redisCluster };
}

async function redisUrl(env: Env, secrets: SecretSource, deployed: boolean): Promise<string | undefined> {
  if (env.REDIS_URL) return requiredUrl(env, 'REDIS_URL', ['redis:', 'rediss:']);
  if (!env.REDIS_HOST) {
    if (deployed) throw new ConfigError('REDIS_URL', 'is required in dev and prod (or REDIS_HOST)');
    return undefined;
  }
  const port = integer(env, 'REDIS_PORT', 6379, 1, 65535);
  const tls = oneOf(env, 'REDIS_TLS', ['true', 'false'] as const, 'false') === 'true';
  let auth = '';
  if (env.REDIS_AUTH_SECRET_ARN) {
    const token = secretText('REDIS_AUTH_SECRET_ARN', await secrets.getSecretString(env.REDIS_AUTH_SECRET_ARN), [
      'authToken',
      'password',
      'token',
    ]);
    auth = `:${encodeURIComponent(token)}@`;
  }
  return `${tls ? 'rediss' : 'redis'}://${auth}${env.REDIS_HOST}:${port}`;
}

/**
 * The token key source: TOKEN_KEYS (a JWKS as JSON: local runs, benchmarks), else
 * TOKEN_SIGNING_SECRET_ARN (a private key set as JSON, or a random string the key is derived from,
 * which is what the stack's generated TokenSigningKey secret holds), else
 * TOKEN_PUBLIC_KEYS_SECRET_ARN (the public keys, for fleets that only verify), else locally
 * LOCAL_TOKEN_KEYS. The set is read and checked here once, so a bad one stops the process naming the
 * variable.
 */
async function tokenKeys(env: Env, secrets: SecretSource, deployed: boolean): Promise<TokenKeySource> {
  let variable: string;
  let source: TokenKeySource;
  if (env.TOKEN_KEYS) {
    variable = 'TOKEN_KEYS';
    const set = parseJsonSecret(variable, env.TOKEN_KEYS) as unknown as TokenKeySet;
    source = async () => set;
  } else if (env.TOKEN_SIGNING_SECRET_ARN || env.TOKEN_PUBLIC_KEYS_SECRET_ARN) {
    variable = env.TOKEN_SIGNING_SECRET_ARN ? 'TOKEN_SIGNING_SECRET_ARN' : 'TOKEN_PUBLIC_KEYS_SECRET_ARN';
    const arn = env[variable] as string;
    const signing = variable === 'TOKEN_SIGNING_SECRET_ARN';
    source = async () => {
      const raw = (await secrets.getSecretString(arn)).trim();
      if (!signing || raw.startsWith('{')) return parseJsonSecret(variable, raw) as unknown as TokenKeySet;
      // A generated secret string: its current value signs; the previous one (Secrets Manager keeps
      // it as AWSPREVIOUS after `npm run rotate-token-key`) still verifies, so rotating logs no one out.
      const current = tokenKeyFromSecret(raw);
      const previous = await secrets
        .getSecretString(arn, 'AWSPREVIOUS')
        .then((value) => tokenKeyFromSecret(value.trim()))
        .catch(() => undefined); // never rotated yet
      return { keys: previous && previous.kid !== current.kid ? [current, previous] : [current] };
    };
  } else {
    if (deployed) throw new ConfigError('TOKEN_SIGNING_SECRET_ARN', 'or TOKEN_PUBLIC_KEYS_SECRET_ARN is required in dev and prod');
    return async () => LOCAL_TOKEN_KEYS;
  }
  try {
    await importTokenKeys(await source());
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(variable, `is not a usable token key set: ${(err as Error).message}`);
  }
  return source;
}

/** A secret stored either as plain text or as JSON with one of the given fields. */
function secretText(variable: string, raw: string, fields: string[]): string {
  const trimmed = raw.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  const json = parseJsonSecret(variable, trimmed);
  for (const field of fields) {
    if (typeof json[field] === 'string') return json[field] as string;
  }
  throw new ConfigError(variable, `secret JSON has none of the fields ${fields.join(', ')}`);
}

function parseJsonSecret(variable: string, raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below, which does not echo the secret
  }
  throw new ConfigError(variable, 'secret is not a JSON object');
}

function perMinute(name: RateLimitPolicyName, perMinuteCount: number): RateLimitPolicy {
  return { name, capacity: perMinuteCount, refillPerSecond: perMinuteCount / 60 };
}

function integer(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(variable, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(variable, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, variable: string, allowed: readonly T[], fallback: T): T {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(variable, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function requiredUrl(env: Env, variable: string, protocols: string[]): string {
  const raw = env[variable] as string;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(variable, 'is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(variable, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

function optionalUrl(env: Env, variable: string): string | undefined {
  if (!env[variable]) return undefined;
  return requiredUrl(env, variable, ['http:', 'https:']);
}
