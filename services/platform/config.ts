// Service configuration: every environment variable a service reads is parsed and validated here,
// once, at start. A bad value throws ConfigError naming the variable, which stops the process.
// On AWS the secrets (Redis AUTH token, token keys; the master database login for the migration
// step) are ARNs that are resolved through a SecretSource; tests inject a fake one so they never call
// AWS. The fleets log in to the database with IAM auth tokens (iam-auth.ts), not a secret.
import { readFileSync } from 'node:fs';
import { iamAuthCredentials, type DatabaseLogin } from './iam-auth';
import { importTokenKeys, keySetFromSecretVersions, type TokenKeySet, type TokenKeySource } from './token-keys';

/**
 * The environment name: `local` (a laptop, `npm start`, tests) or the name of the CDK environment the
 * stack was deployed as (`dev`, `prod`, a fork's `staging`), which the stack writes as SURGE_ENV.
 * Every name other than `local` is deployed: it requires Redis and the real secrets.
 */
export type SurgeEnv = string;

/** The services' own name for a laptop run; every other name is a deployed environment. */
export const LOCAL_ENV = 'local';

/**
 * Environment names the CDK config accepts (lib/config/validate.ts checks the same rule; a test ties
 * the two), so every environment a fork can deploy can also start.
 */
const ENV_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * Variables only the stack writes (an instance's environment): with any of them present and no
 * SURGE_ENV the process is on AWS, and defaulting to local would sign tokens with the public local key.
 */
export const AWS_SETTINGS = ['DB_WRITER_HOST', 'DB_SECRET_ARN', 'REDIS_HOST', 'REDIS_AUTH_SECRET_ARN', 'TOKEN_SIGNING_SECRET_ARN', 'TOKEN_PUBLIC_KEYS_SECRET_ARN', 'WAITING_ROOM_ADMISSION_SECRET_ARN'] as const;

/** The rate limit policies a route can name in `config: { rateLimit: { policy } }`. */
export type RateLimitPolicyName = 'orders' | 'login' | 'loginAccount' | 'register' | 'default';

/** A token bucket: `capacity` requests at once, refilled continuously at `refillPerSecond`. */
export interface RateLimitPolicy {
  readonly name: RateLimitPolicyName;
  readonly capacity: number;
  readonly refillPerSecond: number;
}

export interface DatabaseConfig {
  /**
   * Connection string of the writer (Aurora cluster endpoint). With `credentials` it carries the
   * password read at start (for one-off clients); the pools take the password from `credentials`.
   */
  readonly writerUrl: string;
  /** Connection string of the reader (Aurora reader endpoint); the writer when none is given. */
  readonly readerUrl: string;
  /** Connections per pool (writer and reader each). */
  readonly poolMax: number;
  /** TLS for the connection; undefined for plain TCP (local PostgreSQL, PGlite). */
  readonly tls?: { readonly ca?: string };
  /**
   * Where the pools' passwords come from when the URLs' are not enough: IAM auth tokens (DB_AUTH=iam,
   * the fleets) or a secret that rotates (DB_SECRET_ARN, the migration step); undefined when the URLs
   * carry fixed ones. The login user is always the URLs'.
   */
  readonly credentials?: DatabaseCredentials;
  /**
   * Schemas unqualified table names resolve in, in order (PostgreSQL's search_path).
   * @default every service's schema (services/platform/ownership.ts): a login that is no service's
   */
  readonly searchPath?: readonly string[];
}

export type { DatabaseLogin };

/**
 * The password of each new connection. From a rotating secret (RDS rotates the master password every
 * 7 days) it is cached; a pool that gets 28P01 (wrong password) calls `refresh()`, which re-reads the
 * secret, at most once per DB_SECRET_REFRESH_MIN_MS however many connections fail at once. With IAM
 * authentication (services/platform/iam-auth.ts) it is a short-lived token for the login.
 */
export interface DatabaseCredentials {
  /**
   * The one user these credentials log in (a secret's login); undefined when they sign for whichever
   * user a pool's URL names (IAM).
   */
  readonly user?: string;
  /** The password believed current for `login` (no secret read; an IAM token may be signed). */
  password(login: DatabaseLogin): string | Promise<string>;
  /** Bumped whenever a re-read finds a different password. */
  readonly generation: number;
  /**
   * Re-reads the secret (a read that starts after the call, shared by every caller meanwhile, and
   * at most one per interval: callers may wait up to the interval); true when the password changed.
   */
  refresh(): Promise<boolean>;
}

/** How a queue consumer receives and retries, agreeing with the queue (lib/construct/event-queue.ts). */
export interface QueueConsumerConfig {
  /** Visibility timeout on receive: the queue's own, written by the stack. */
  readonly visibilityTimeoutSeconds: number;
  /** Receives before SQS dead-letters a message: the queue's redrive policy, written by the stack. */
  readonly maxReceiveCount: number;
  /**
   * A failed message comes back after min(retryMaxSeconds, retryBaseSeconds x 2^(receives - 1)):
   * 15, 30, 60, 120, 240 s by default, so the 5 receives span a provider outage of about 7.5 minutes
   * (a database outage spends hardly any: the consumer stops polling while the database is down).
   */
  readonly retryBaseSeconds: number;
  readonly retryMaxSeconds: number;
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
  /**
   * scrypt's cost N as log2(N) for new password hashes: 17 (OWASP's minimum) unless set; lower only
   * with SURGE_ENV=local (the tests' services use 10). Hashes record their own cost, so either way
   * every stored hash still verifies.
   */
  readonly passwordHashLog2N: number;
  readonly shutdownDeadlineMs: number;
  /**
   * After SIGTERM, how long readiness answers 503 while the listener stays open, so a load balancer
   * that was not told about the shutdown stops routing first. 0 when the ALB deregisters the target
   * before the instance is stopped (Auto Scaling terminations do).
   */
  readonly drainDelayMs: number;
  readonly queueHandlerTimeoutMs: number;
  readonly queue: QueueConsumerConfig;
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
  /** Sale events behind the order service's waiting room (services/order/waiting-room). */
  readonly waitingRoom: WaitingRoomConfig;
}

/** One sale event whose products are sold only to shoppers the waiting room admitted. */
export interface SaleEventConfig {
  /** Letters, digits and hyphens (the CDK config's sale event name). */
  readonly eventId: string;
  /** What shoppers see. */
  readonly name: string;
  /** ISO 8601 UTC; the event is open from `startsAt` (inclusive) to `endsAt` (exclusive). */
  readonly startsAt: string;
  readonly endsAt: string;
  /** Products (lower-case UUIDs) that need an admission token while the event is open. */
  readonly productIds: readonly string[];
  /** Shoppers admitted per second when the order fleet is healthy (the inlet's ceiling). */
  readonly inletPerSecond: number;
}

export interface WaitingRoomConfig {
  readonly events: readonly SaleEventConfig[];
  /** HMAC key of tickets and admission tokens (its own key, not the login token key). */
  readonly admissionKey: string;
  /** How long an admission token lets its shopper order the event's products. */
  readonly admissionTtlSeconds: number;
  /** How often each order process advances the shared inlet and refreshes its view of the queue. */
  readonly tickMs: number;
  /** The inlet halves when an order process's POST /api/orders p99 (last `adjustMs` / 2) is above this. */
  readonly overloadP99Ms: number;
  /** Shortest time between two inlet changes (halving or raising), across every order process. */
  readonly adjustMs: number;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads a secret's string value by ARN; production uses Secrets Manager (and Parameter Store for an SSM
 * parameter's ARN), tests a fake.
 */
export interface SecretSource {
  /** The AWSCURRENT value, or the version in `versionStage` (e.g. AWSPREVIOUS). */
  getSecretString(arn: string, versionStage?: string): Promise<string>;
}

/**
 * Secrets Manager through the AWS SDK, loaded only when an ARN is configured. An SSM parameter's ARN
 * names a value that needs no secrecy (the stack's token public keys) and is read from Parameter Store.
 */
export function secretsManagerSource(region: string): SecretSource {
  return {
    async getSecretString(arn, versionStage) {
      if (/^arn:[^:]+:ssm:/.test(arn)) return parameterValue(region, arn);
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

async function parameterValue(region: string, arn: string): Promise<string> {
  const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const client = new SSMClient({ region });
  try {
    const out = await client.send(new GetParameterCommand({ Name: arn }));
    if (out.Parameter?.Value === undefined) throw new Error(`parameter ${arn} has no value`);
    return out.Parameter.Value;
  } finally {
    client.destroy();
  }
}

type Env = Record<string, string | undefined>;

/** Local development token key (Ed25519): fine on a laptop and in tests, refused in every deployed environment. */
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
  const deployed = surgeEnv !== LOCAL_ENV;
  const queueHandlerTimeoutMs = integer(env, 'QUEUE_HANDLER_TIMEOUT_MS', 30000, 100, 600000);

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
    passwordHashLog2N: passwordHashLog2N(env, deployed),
    shutdownDeadlineMs,
    drainDelayMs,
    queueHandlerTimeoutMs,
    queue: queueConsumerConfig(env, queueHandlerTimeoutMs),
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
    waitingRoom: await waitingRoomConfig(env, source, deployed),
  };
}

/** OWASP's minimum scrypt cost (Password Storage Cheat Sheet): N=2^17 with r=8, p=1, 128 MiB per hash. */
export const MIN_DEPLOYED_PASSWORD_HASH_LOG2_N = 17;

function passwordHashLog2N(env: Env, deployed: boolean): number {
  const log2N = integer(env, 'PASSWORD_HASH_LOG2_N', MIN_DEPLOYED_PASSWORD_HASH_LOG2_N, 10, 20);
  if (deployed && log2N < MIN_DEPLOYED_PASSWORD_HASH_LOG2_N) {
    throw new ConfigError('PASSWORD_HASH_LOG2_N', `may be below ${MIN_DEPLOYED_PASSWORD_HASH_LOG2_N} (OWASP's minimum for scrypt) only with SURGE_ENV=local`);
  }
  return log2N;
}

/**
 * The database part alone, for commands that need nothing else (`npm run migrate`, `npm run seed`).
 * Either DATABASE_URL (+ DATABASE_READER_URL), or on AWS DB_WRITER_HOST, DB_READER_HOST, DB_PORT,
 * DB_NAME and one of two logins, always over TLS: DB_AUTH=iam (the fleets: a service's own role, DB_USER,
 * with an IAM auth token per login, signed for AWS_REGION) or DB_SECRET_ARN (a JSON secret
 * {username, password}: the master user, which only the migration step reads).
 */
export async function loadDatabaseConfig(env: Env = process.env, secrets?: SecretSource): Promise<DatabaseConfig> {
  const poolMax = integer(env, 'DB_POOL_MAX', 10, 1, 500);
  if (env.DATABASE_URL) {
    const writerUrl = requiredUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
    const readerUrl = env.DATABASE_READER_URL ? requiredUrl(env, 'DATABASE_READER_URL', ['postgres:', 'postgresql:']) : writerUrl;
    return { writerUrl, readerUrl, poolMax };
  }
  if (!env.DB_WRITER_HOST) {
    throw new ConfigError('DATABASE_URL', 'is required (or DB_WRITER_HOST with DB_AUTH=iam or DB_SECRET_ARN on AWS)');
  }
  const { username, password, credentials } = oneOf(env, 'DB_AUTH', ['secret', 'iam'] as const, 'secret') === 'iam' ? iamLogin(env) : await secretLogin(env, secrets);
  const port = integer(env, 'DB_PORT', 5432, 1, 65535);
  const name = env.DB_NAME ?? 'surge';
  const userInfo = username === undefined ? '' : encodeURIComponent(username) + (password === undefined ? '' : `:${encodeURIComponent(password)}`) + '@';
  const url = (host: string) => `postgres://${userInfo}${host}:${port}/${encodeURIComponent(name)}`;
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
  // TLS always on AWS (IAM authentication requires it); DB_TLS=false only for a local PostgreSQL
  // standing in for Aurora (tests).
  const tls = oneOf(env, 'DB_TLS', ['true', 'false'] as const, 'true') === 'true';
  if (!tls && env.SURGE_ENV !== LOCAL_ENV) throw new ConfigError('DB_TLS', 'may be false only with SURGE_ENV=local');
  return {
    writerUrl: url(env.DB_WRITER_HOST),
    readerUrl: url(env.DB_READER_HOST ?? env.DB_WRITER_HOST),
    poolMax,
    tls: tls ? { ca } : undefined,
    credentials,
  };
}

interface Login {
  /** The URLs' user; undefined when each pool names its own (IAM). */
  readonly username?: string;
  /** Written into the URLs for one-off clients; undefined when every connection needs a fresh one. */
  readonly password?: string;
  readonly credentials: DatabaseCredentials;
}

/**
 * A service's own PostgreSQL role (DB_USER), with an IAM auth token per login: no secret is read.
 * Without DB_USER the URLs name no user, and each pool must be given its role (a process running
 * several services' code, like the worker, logs in as each service's role); db.ts refuses a pool without.
 */
function iamLogin(env: Env): Login {
  const username = env.DB_USER || undefined;
  if (username !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(username)) {
    throw new ConfigError('DB_USER', `must be a lower-case PostgreSQL role name, got "${username}"`);
  }
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) throw new ConfigError('AWS_REGION', 'is required with DB_AUTH=iam (tokens are signed for the cluster\'s region)');
  return { username, credentials: iamAuthCredentials({ region }) };
}

async function secretLogin(env: Env, secrets?: SecretSource): Promise<Login> {
  const secretArn = env.DB_SECRET_ARN;
  if (!secretArn) throw new ConfigError('DB_SECRET_ARN', 'is required when DB_WRITER_HOST is set (or DB_AUTH=iam)');
  const source = secrets ?? secretsManagerSource(env.AWS_REGION ?? 'us-east-1');
  return rotatingCredentials(source, secretArn, integer(env, 'DB_SECRET_REFRESH_MIN_MS', 2000, 0, 3600000));
}

/** Reads {username, password} from the secret now, and again when a pool reports a wrong password. */
async function rotatingCredentials(source: SecretSource, arn: string, minRefreshIntervalMs: number): Promise<Login> {
  const read = async () => {
    const secret = parseJsonSecret('DB_SECRET_ARN', await source.getSecretString(arn));
    if (typeof secret.username !== 'string' || typeof secret.password !== 'string') {
      throw new ConfigError('DB_SECRET_ARN', 'secret must be JSON with string fields "username" and "password"');
    }
    return { username: secret.username, password: secret.password };
  };
  const first = await read();
  let password = first.password;
  let generation = 0;
  let lastReadAt = Date.now();
  let reading: Promise<unknown> = Promise.resolve();
  let scheduled: Promise<boolean> | undefined;
  return {
    username: first.username,
    password: first.password,
    credentials: {
      user: first.username,
      password: () => password,
      get generation() {
        return generation;
      },
      refresh() {
        // Callers share one read that starts after they asked (a read already under way may predate
        // the new secret), at most one per interval: a wrong password that persists (rotation half
        // done: the database changed, the secret not yet) costs one secret read per interval, not one
        // per connection attempt.
        scheduled ??= (async () => {
          await reading;
          const wait = lastReadAt + minRefreshIntervalMs - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          scheduled = undefined;
          lastReadAt = Date.now();
          const next = read();
          reading = next.catch(() => undefined);
          try {
            const { password: current } = await next;
            if (current === password) return false;
            password = current;
            generation += 1;
            return true;
          } catch {
            // Secrets Manager unreachable: keep the cached password; the next failure asks again.
            return false;
          }
        })();
        return scheduled;
      },
    },
  };
}

function parseEnvName(env: Env): SurgeEnv {
  const raw = env.SURGE_ENV;
  if (raw === undefined || raw === '') {
    const aws = AWS_SETTINGS.filter((variable) => env[variable]);
    if (aws.length > 0) {
      throw new ConfigError(
        'SURGE_ENV',
        `is not set, but AWS settings are (${aws.join(', ')}): set SURGE_ENV to the stack's environment name, or to local on purpose`,
      );
    }
    return LOCAL_ENV;
  }
  if (!ENV_NAME.test(raw)) {
    throw new ConfigError('SURGE_ENV', `must be local or an environment name (lowercase letters, digits and hyphens, at most 20), got "${raw}"`);
  }
  return raw;
}

/**
 * The consumer's view of its queues. The defaults are what EventQueue builds for the default handler
 * timeout (visibility 2 x 30 s, 5 receives); on AWS the stack writes the queue's own values.
 */
function queueConsumerConfig(env: Env, handlerTimeoutMs: number): QueueConsumerConfig {
  const visibilityTimeoutSeconds = integer(env, 'QUEUE_VISIBILITY_TIMEOUT_SECONDS', Math.max(30, Math.ceil((2 * handlerTimeoutMs) / 1000)), 1, 43200);
  if (visibilityTimeoutSeconds * 1000 <= handlerTimeoutMs) {
    throw new ConfigError('QUEUE_VISIBILITY_TIMEOUT_SECONDS', `must be longer than QUEUE_HANDLER_TIMEOUT_MS (${handlerTimeoutMs} ms), got ${visibilityTimeoutSeconds} s`);
  }
  const retryBaseSeconds = integer(env, 'QUEUE_RETRY_BASE_SECONDS', 15, 0, 43200);
  const retryMaxSeconds = integer(env, 'QUEUE_RETRY_MAX_SECONDS', 300, 0, 43200);
  if (retryMaxSeconds < retryBaseSeconds) {
    throw new ConfigError('QUEUE_RETRY_MAX_SECONDS', `must be at least QUEUE_RETRY_BASE_SECONDS (${retryBaseSeconds}), got ${retryMaxSeconds}`);
  }
  return {
    visibilityTimeoutSeconds,
    maxReceiveCount: integer(env, 'QUEUE_MAX_RECEIVE_COUNT', 5, 1, 1000),
    retryBaseSeconds,
    retryMaxSeconds,
  };
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
    if (deployed) throw new ConfigError('REDIS_URL', 'is required in every environment but local (or REDIS_HOST)');
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
      // A generated secret string: the key set of its current and previous values (a previous one
      // that cannot be read is left out: the current key still signs and verifies).
      return keySetFromSecretVersions(async (versionStage) => (versionStage ? secrets.getSecretString(arn, versionStage).catch(() => undefined) : raw));
    };
  } else {
    if (deployed) throw new ConfigError('TOKEN_SIGNING_SECRET_ARN', 'or TOKEN_PUBLIC_KEYS_SECRET_ARN is required in every environment but local');
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

/** Local development admission key: fine on a laptop, refused in every deployed environment. */
const LOCAL_ADMISSION_KEY = 'surge-local-admission-key-not-for-deployed-environments';

const EVENT_ID = /^[A-Za-z0-9-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

async function waitingRoomConfig(env: Env, secrets: SecretSource, deployed: boolean): Promise<WaitingRoomConfig> {
  const events = saleEvents(env);
  let admissionKey = env.WAITING_ROOM_ADMISSION_KEY;
  let variable = 'WAITING_ROOM_ADMISSION_KEY';
  if (!admissionKey && env.WAITING_ROOM_ADMISSION_SECRET_ARN) {
    variable = 'WAITING_ROOM_ADMISSION_SECRET_ARN';
    admissionKey = secretText(variable, await secrets.getSecretString(env.WAITING_ROOM_ADMISSION_SECRET_ARN), ['signingKey', 'key']);
  }
  if (!admissionKey) {
    // Without events no token is ever signed or required, so a deployment needs no key.
    if (deployed && events.length > 0) {
      throw new ConfigError('WAITING_ROOM_ADMISSION_KEY', 'is required in every environment but local when WAITING_ROOM_EVENTS lists events (or WAITING_ROOM_ADMISSION_SECRET_ARN)');
    }
    admissionKey = LOCAL_ADMISSION_KEY;
  } else if (Buffer.byteLength(admissionKey) < 32) {
    throw new ConfigError(variable, 'must be at least 32 bytes long');
  }
  return {
    events,
    admissionKey,
    admissionTtlSeconds: integer(env, 'WAITING_ROOM_ADMISSION_TTL_SECONDS', 300, 10, 3600),
    tickMs: integer(env, 'WAITING_ROOM_TICK_MS', 250, 10, 10000),
    overloadP99Ms: integer(env, 'WAITING_ROOM_OVERLOAD_P99_MS', 1000, 1, 60000),
    adjustMs: integer(env, 'WAITING_ROOM_ADJUST_MS', 5000, 100, 600000),
  };
}

/**
 * WAITING_ROOM_EVENTS: a JSON array of SaleEventConfig, as it is or in base64 (the CDK app writes
 * base64 for the order fleet: a systemd environment file cannot carry the JSON's quotes).
 */
function saleEvents(env: Env): SaleEventConfig[] {
  const variable = 'WAITING_ROOM_EVENTS';
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(/^[[{]/.test(raw) ? raw : Buffer.from(raw, 'base64').toString('utf8'));
  } catch {
    throw new ConfigError(variable, 'is neither a JSON array of events nor base64 of one');
  }
  if (!Array.isArray(parsed)) throw new ConfigError(variable, 'must be a JSON array of events');
  const seen = new Set<string>();
  const claimed = new Map<string, string>();
  return parsed.map((item: unknown, i) => {
    const at = `[${i}]`;
    if (!item || typeof item !== 'object') throw new ConfigError(variable, `${at} must be an object`);
    const e = item as Record<string, unknown>;
    const eventId = e.eventId;
    if (typeof eventId !== 'string' || !EVENT_ID.test(eventId)) throw new ConfigError(variable, `${at}.eventId must be 1-64 letters, digits or hyphens, got ${JSON.stringify(eventId)}`);
    if (seen.has(eventId)) throw new ConfigError(variable, `${at}.eventId "${eventId}" is used by more than one event`);
    seen.add(eventId);
    const name = e.name ?? eventId;
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new ConfigError(variable, `${at}.name must be a string of 1-200 characters`);
    for (const field of ['startsAt', 'endsAt'] as const) {
      const value = e[field];
      if (typeof value !== 'string' || !ISO_UTC.test(value) || Number.isNaN(Date.parse(value))) {
        throw new ConfigError(variable, `${at}.${field} must be an ISO 8601 UTC time like 2027-11-26T08:00:00Z, got ${JSON.stringify(value)}`);
      }
    }
    if (Date.parse(e.endsAt as string) <= Date.parse(e.startsAt as string)) throw new ConfigError(variable, `${at} ends (${e.endsAt}) before it starts (${e.startsAt})`);
    const productIds = e.productIds;
    if (!Array.isArray(productIds) || productIds.length === 0 || productIds.some((id) => typeof id !== 'string' || !UUID.test(id))) {
      throw new ConfigError(variable, `${at}.productIds must be a non-empty array of product UUIDs`);
    }
    // One product in two events would need two admissions for one order; refuse it up front.
    for (const id of productIds as string[]) {
      const other = claimed.get(id.toLowerCase());
      if (other) throw new ConfigError(variable, `${at}: product ${id} is already in event "${other}"`);
      claimed.set(id.toLowerCase(), eventId);
    }
    const inlet = e.inletPerSecond;
    if (typeof inlet !== 'number' || !Number.isInteger(inlet) || inlet < 1 || inlet > 100000) {
      throw new ConfigError(variable, `${at}.inletPerSecond must be a whole number from 1 to 100000, got ${JSON.stringify(inlet)}`);
    }
    return {
      eventId,
      name,
      startsAt: new Date(e.startsAt as string).toISOString(),
      endsAt: new Date(e.endsAt as string).toISOString(),
      productIds: (productIds as string[]).map((id) => id.toLowerCase()),
      inletPerSecond: inlet,
    };
  });
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
