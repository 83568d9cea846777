// loadConfig: defaults, validation naming the variable, and secrets resolved through a fake source.
import { generateTokenKey, publicKeySet, tokenKeyFromSecret } from '../token-keys';
import { AWS_SETTINGS, ConfigError, LOCAL_TOKEN_KEYS, loadConfig, loadDatabaseConfig, secretsManagerSource, type SecretSource } from '../config';

const secrets = (values: Record<string, string>): SecretSource & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    async getSecretString(arn) {
      asked.push(arn);
      if (!(arn in values)) throw new Error(`unknown secret ${arn}`);
      return values[arn];
    },
  };
};
const noSecrets = secrets({});
const LOCAL = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/surge' };
const SIGNING_KEYS = { keys: [generateTokenKey('k1')] };
const KEY = JSON.stringify(SIGNING_KEYS);

describe('loadConfig', () => {
  it('gives local defaults from a database URL alone', async () => {
    const cfg = await loadConfig(LOCAL, noSecrets);
    expect(cfg.env).toBe('local');
    expect(cfg.port).toBe(3000);
    expect(cfg.database).toMatchObject({ writerUrl: LOCAL.DATABASE_URL, readerUrl: LOCAL.DATABASE_URL });
    expect(cfg.redisUrl).toBeUndefined();
    expect(cfg.shutdownDeadlineMs).toBe(20000);
    expect(cfg.queueHandlerTimeoutMs).toBe(30000);
    expect(cfg.rateLimits.orders).toEqual({ name: 'orders', capacity: 20, refillPerSecond: 20 / 60 });
    expect(cfg.rateLimits.login).toEqual({ name: 'login', capacity: 10, refillPerSecond: 10 / 60 });
    expect(cfg.rateLimits.default).toEqual({ name: 'default', capacity: 100, refillPerSecond: 50 });
    expect(cfg.rateLimits.loginAccount).toEqual({ name: 'loginAccount', capacity: 10, refillPerSecond: 10 / 60 });
    expect(cfg.rateLimits.register).toEqual({ name: 'register', capacity: 5, refillPerSecond: 5 / 60 });
    expect(await cfg.tokenKeys()).toBe(LOCAL_TOKEN_KEYS);
  });

  it('uses port 8080 and requires Redis and token keys in deployed environments', async () => {
    await expect(loadConfig({ ...LOCAL, SURGE_ENV: 'prod', TOKEN_KEYS: KEY }, noSecrets)).rejects.toThrow(/^REDIS_URL: is required/);
    await expect(loadConfig({ ...LOCAL, SURGE_ENV: 'dev', REDIS_URL: 'redis://r:6379' }, noSecrets)).rejects.toThrow(
      /^TOKEN_SIGNING_SECRET_ARN: or TOKEN_PUBLIC_KEYS_SECRET_ARN is required/,
    );
    const cfg = await loadConfig({ ...LOCAL, SURGE_ENV: 'prod', REDIS_URL: 'rediss://r:6380', TOKEN_KEYS: KEY }, noSecrets);
    expect(cfg.port).toBe(8080);
    expect(cfg.trustedProxyHops).toBe(2);
  });

  it.each(['staging', 'qa-2', 'prod-eu'])('starts a fork environment %p like any deployed one: Redis and token keys required', async (name) => {
    await expect(loadConfig({ ...LOCAL, SURGE_ENV: name, TOKEN_KEYS: KEY }, noSecrets)).rejects.toThrow(/^REDIS_URL: is required/);
    await expect(loadConfig({ ...LOCAL, SURGE_ENV: name, REDIS_URL: 'redis://r:6379' }, noSecrets)).rejects.toThrow(
      /^TOKEN_SIGNING_SECRET_ARN: or TOKEN_PUBLIC_KEYS_SECRET_ARN is required in every environment but local/,
    );
    const cfg = await loadConfig({ ...LOCAL, SURGE_ENV: name, REDIS_URL: 'rediss://r:6380', TOKEN_KEYS: KEY }, noSecrets);
    expect(cfg).toMatchObject({ env: name, port: 8080, host: '0.0.0.0', trustedProxyHops: 2 });
  });

  it.each(AWS_SETTINGS.map((variable) => [variable]))('refuses to start without SURGE_ENV when %s (an AWS setting) is present', async (variable) => {
    const err = await loadConfig({ ...LOCAL, [variable]: 'x' }, noSecrets).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`^SURGE_ENV: is not set, but AWS settings are \\(${variable}\\)`));
    // Explicitly local is a choice, and allowed.
    await expect(loadConfig({ ...LOCAL, [variable]: 'x', SURGE_ENV: 'local' }, secrets({ x: JSON.stringify({ ...SIGNING_KEYS, signingKey: KEY }) }))).resolves.toMatchObject({ env: 'local' });
  });

  it('gives the queue consumer the queue construct\'s defaults: visibility 2 x handler timeout, 5 receives, backoff 15 s doubling to 300 s', async () => {
    expect((await loadConfig(LOCAL, noSecrets)).queue).toEqual({ visibilityTimeoutSeconds: 60, maxReceiveCount: 5, retryBaseSeconds: 15, retryMaxSeconds: 300 });
    const cfg = await loadConfig({ ...LOCAL, QUEUE_HANDLER_TIMEOUT_MS: '45000', QUEUE_MAX_RECEIVE_COUNT: '8' }, noSecrets);
    expect(cfg.queue).toMatchObject({ visibilityTimeoutSeconds: 90, maxReceiveCount: 8 });
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT: must be a whole number, got "eighty"/],
    [{ PORT: '70000' }, /^PORT: must be between 0 and 65535/],
    [{ SURGE_ENV: 'Staging' }, /^SURGE_ENV: must be local or an environment name \(lowercase letters, digits and hyphens, at most 20\), got "Staging"/],
    [{ QUEUE_VISIBILITY_TIMEOUT_SECONDS: '30' }, /^QUEUE_VISIBILITY_TIMEOUT_SECONDS: must be longer than QUEUE_HANDLER_TIMEOUT_MS \(30000 ms\)/],
    [{ QUEUE_RETRY_BASE_SECONDS: '60', QUEUE_RETRY_MAX_SECONDS: '30' }, /^QUEUE_RETRY_MAX_SECONDS: must be at least QUEUE_RETRY_BASE_SECONDS \(60\)/],
    [{ QUEUE_MAX_RECEIVE_COUNT: '0' }, /^QUEUE_MAX_RECEIVE_COUNT: must be between 1 and 1000/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: must start with postgres:\/\//],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL: is not a valid URL/],
    [{ REDIS_URL: 'http://r' }, /^REDIS_URL: must start with redis:\/\/ or rediss:\/\//],
    [{ SHUTDOWN_DEADLINE_MS: '-1' }, /^SHUTDOWN_DEADLINE_MS: must be a whole number/],
    [{ RATE_LIMIT_ORDERS_PER_MINUTE: '0' }, /^RATE_LIMIT_ORDERS_PER_MINUTE: must be between 1/],
    [{ TOKEN_KEYS: 'short' }, /^TOKEN_KEYS: secret is not a JSON object/],
    [{ TOKEN_KEYS: '{"keys":[]}' }, /^TOKEN_KEYS: is not a usable token key set: the key set has no keys/],
    [{ TOKEN_KEYS: '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"k"}]}' }, /^TOKEN_KEYS: is not a usable token key set: every key must be an Ed25519 JWK/],
    [{ SQS_ENDPOINT: 'localhost:4566' }, /^SQS_ENDPOINT: must start with http:\/\/ or https:\/\//],
  ])('rejects %p naming the variable', async (bad, message) => {
    const err = await loadConfig({ ...LOCAL, ...bad }, noSecrets).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });

  it('requires a database', async () => {
    await expect(loadConfig({}, noSecrets)).rejects.toThrow(/^DATABASE_URL: is required/);
    await expect(loadConfig({ SURGE_ENV: 'prod', DB_WRITER_HOST: 'w' }, noSecrets)).rejects.toThrow(/^DB_SECRET_ARN: is required/);
  });

  it('keeps TLS to the database unless a local run turns it off', async () => {
    const db = secrets({ 'arn:db': JSON.stringify({ username: 'u', password: 'p' }) });
    const aws = { DB_WRITER_HOST: 'w', DB_SECRET_ARN: 'arn:db' };
    expect((await loadDatabaseConfig(aws, db)).tls).toEqual({ ca: undefined });
    expect((await loadDatabaseConfig({ ...aws, SURGE_ENV: 'local', DB_TLS: 'false' }, db)).tls).toBeUndefined();
    await expect(loadDatabaseConfig({ ...aws, SURGE_ENV: 'staging', DB_TLS: 'false' }, db)).rejects.toThrow(/^DB_TLS: may be false only with SURGE_ENV=local/);
  });

  it('resolves AWS-style settings through the secret source', async () => {
    const source = secrets({
      'arn:db': JSON.stringify({ username: 'surge', password: 'p@ss/word' }),
      'arn:redis': 'redis-token',
      'arn:key': JSON.stringify(publicKeySet(SIGNING_KEYS)),
    });
    const cfg = await loadConfig(
      {
        SURGE_ENV: 'prod',
        DB_WRITER_HOST: 'writer.example',
        DB_READER_HOST: 'reader.example',
        DB_PORT: '6543',
        DB_NAME: 'surge',
        DB_SECRET_ARN: 'arn:db',
        REDIS_HOST: 'redis.example',
        REDIS_PORT: '6380',
        REDIS_TLS: 'true',
        REDIS_AUTH_SECRET_ARN: 'arn:redis',
        TOKEN_PUBLIC_KEYS_SECRET_ARN: 'arn:key',
        AWS_REGION: 'eu-west-1',
        ORDER_PLACED_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/order-placed',
      },
      source,
    );
    expect(cfg.database.writerUrl).toBe('postgres://surge:p%40ss%2Fword@writer.example:6543/surge');
    expect(cfg.database.readerUrl).toBe('postgres://surge:p%40ss%2Fword@reader.example:6543/surge');
    expect(cfg.database.tls).toBeDefined();
    expect(cfg.redisUrl).toBe('rediss://:redis-token@redis.example:6380');
    expect(cfg.sqs).toMatchObject({ region: 'eu-west-1', orderPlacedQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/order-placed' });
    expect(source.asked.sort()).toEqual(['arn:db', 'arn:key', 'arn:redis']);
    // The token keys are read again whenever they may have rotated.
    expect(await cfg.tokenKeys()).toEqual(publicKeySet(SIGNING_KEYS));
    expect(source.asked.filter((arn) => arn === 'arn:key')).toHaveLength(2);
  });

  it('derives the signing key from the stack\'s generated secret string, and keeps the previous one after a rotation', async () => {
    const versions: Record<string, string> = { AWSCURRENT: 'x7'.repeat(32) };
    const source: SecretSource = {
      async getSecretString(arn, stage = 'AWSCURRENT') {
        if (arn !== 'arn:signing' || !(stage in versions)) throw new Error(`no ${stage} version of ${arn}`);
        return versions[stage];
      },
    };
    const cfg = await loadConfig({ ...LOCAL, SURGE_ENV: 'local', TOKEN_SIGNING_SECRET_ARN: 'arn:signing' }, source);
    expect(await cfg.tokenKeys()).toEqual({ keys: [tokenKeyFromSecret('x7'.repeat(32))] });
    // What `npm run rotate-token-key` leaves: a new current value, the old one as AWSPREVIOUS.
    versions.AWSPREVIOUS = versions.AWSCURRENT;
    versions.AWSCURRENT = 'y8'.repeat(32);
    expect(await cfg.tokenKeys()).toEqual({ keys: [tokenKeyFromSecret('y8'.repeat(32)), tokenKeyFromSecret('x7'.repeat(32))] });
  });

  it('does not echo a malformed secret', async () => {
    const err = await loadDatabaseConfig({ DB_WRITER_HOST: 'w', DB_SECRET_ARN: 'arn:db' }, secrets({ 'arn:db': 'hunter2-not-json' })).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^DB_SECRET_ARN: secret is not a JSON object/);
    expect(err.message).not.toContain('hunter2');
  });

  it('hashes passwords at scrypt N=2^17 unless set, and lower only with SURGE_ENV=local', async () => {
    const DEPLOYED = { ...LOCAL, SURGE_ENV: 'prod', REDIS_URL: 'rediss://r:6380', TOKEN_KEYS: KEY };
    expect((await loadConfig(LOCAL, noSecrets)).passwordHashLog2N).toBe(17);
    expect((await loadConfig(DEPLOYED, noSecrets)).passwordHashLog2N).toBe(17);
    expect((await loadConfig({ ...LOCAL, PASSWORD_HASH_LOG2_N: '10' }, noSecrets)).passwordHashLog2N).toBe(10);
    expect((await loadConfig({ ...DEPLOYED, PASSWORD_HASH_LOG2_N: '18' }, noSecrets)).passwordHashLog2N).toBe(18);
    await expect(loadConfig({ ...DEPLOYED, PASSWORD_HASH_LOG2_N: '16' }, noSecrets)).rejects.toThrow(
      /^PASSWORD_HASH_LOG2_N: may be below 17 \(OWASP's minimum for scrypt\) only with SURGE_ENV=local$/,
    );
    await expect(loadConfig({ ...LOCAL, PASSWORD_HASH_LOG2_N: '9' }, noSecrets)).rejects.toThrow(/^PASSWORD_HASH_LOG2_N: must be between 10 and 20, got 9$/);
  });

  it('lets tests raise a rate limit', async () => {
    const cfg = await loadConfig({ ...LOCAL, RATE_LIMIT_ORDERS_PER_MINUTE: '1000' }, noSecrets);
    expect(cfg.rateLimits.orders.capacity).toBe(1000);
  });

  it('REDIS_CLUSTER: off by default, true names the configuration endpoint as the seed, anything else is refused', async () => {
    expect((await loadConfig({ ...LOCAL, REDIS_URL: 'redis://r:6379' }, noSecrets)).redisCluster).toBe(false);
    const cfg = await loadConfig(
      { ...LOCAL, SURGE_ENV: 'local', REDIS_HOST: 'clustercfg.surge.example', REDIS_PORT: '6390', REDIS_TLS: 'true', REDIS_AUTH_SECRET_ARN: 'arn:redis', REDIS_CLUSTER: 'true' },
      secrets({ 'arn:redis': 'redis-token' }),
    );
    expect(cfg).toMatchObject({ redisCluster: true, redisUrl: 'rediss://:redis-token@clustercfg.surge.example:6390' });
    expect((await loadConfig({ ...LOCAL, REDIS_URL: 'redis://r:7000', REDIS_CLUSTER: 'false' }, noSecrets)).redisCluster).toBe(false);
    await expect(loadConfig({ ...LOCAL, REDIS_URL: 'redis://r:7000', REDIS_CLUSTER: 'yes' }, noSecrets)).rejects.toThrow(
      /^REDIS_CLUSTER: must be one of true, false, got "yes"/,
    );
    // Without a Redis the services would fall back to the in-memory cache, not the cluster asked for.
    await expect(loadConfig({ ...LOCAL, REDIS_CLUSTER: 'true' }, noSecrets)).rejects.toThrow(/^REDIS_CLUSTER: is true but no Redis is configured/);
  });
});

describe('rotating database credentials', () => {
  const rotating = () => {
    let current = { username: 'surge', password: 'first' };
    const source = secrets({});
    let reads = 0;
    source.getSecretString = async () => {
      reads += 1;
      return JSON.stringify(current);
    };
    return {
      source,
      reads: () => reads,
      rotate(password: string) {
        current = { ...current, password };
      },
    };
  };
  const env = { DB_WRITER_HOST: 'w', DB_SECRET_ARN: 'arn:db', DB_SECRET_REFRESH_MIN_MS: '200' };

  it('reads the secret once at start and re-reads it only on refresh, shared by concurrent callers', async () => {
    const s = rotating();
    const cfg = await loadDatabaseConfig(env, s.source);
    const credentials = cfg.credentials!;
    const login = { host: 'w', port: 5432, user: 'surge' };
    expect(new URL(cfg.writerUrl).username).toBe('surge');
    expect(credentials.user).toBe('surge');
    expect(credentials.password(login)).toBe('first');
    expect(s.reads()).toBe(1);
    s.rotate('second');
    expect(credentials.password(login)).toBe('first');
    const results = await Promise.all(Array.from({ length: 50 }, () => credentials.refresh()));
    expect(results.every((changed) => changed)).toBe(true);
    expect(credentials.password(login)).toBe('second');
    expect(credentials.generation).toBe(1);
    expect(s.reads()).toBe(2);
  });

  it('re-reads at most once per DB_SECRET_REFRESH_MIN_MS while the secret has not changed yet', async () => {
    const s = rotating();
    const credentials = (await loadDatabaseConfig(env, s.source)).credentials!;
    const started = Date.now();
    expect(await credentials.refresh()).toBe(false);
    expect(await credentials.refresh()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(s.reads()).toBe(3);
    expect(credentials.generation).toBe(0);
  });
});

describe('secretsManagerSource', () => {
  it('reads the secret string through the AWS SDK (mocked; tests never call AWS)', async () => {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:db' }).resolves({
      SecretString: JSON.stringify({ username: 'surge', password: 'pw' }),
    });
    try {
      const cfg = await loadDatabaseConfig(
        { DB_WRITER_HOST: 'w', DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:db' },
        secretsManagerSource('eu-west-1'),
      );
      expect(cfg.writerUrl).toBe('postgres://surge:pw@w:5432/surge');
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    } finally {
      sm.restore();
    }
  });
});

describe('secretsManagerSource with an SSM parameter ARN', () => {
  it('reads the parameter from Parameter Store (mocked), not Secrets Manager', async () => {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const ssm = mockClient(SSMClient);
    const sm = mockClient(SecretsManagerClient);
    const arn = 'arn:aws:ssm:eu-west-1:1:parameter/surge/dev/token-public-keys';
    const keys = JSON.stringify(publicKeySet(SIGNING_KEYS));
    ssm.on(GetParameterCommand, { Name: arn }).resolves({ Parameter: { Value: keys } });
    try {
      const cfg = await loadConfig({ ...LOCAL, SURGE_ENV: 'dev', REDIS_URL: 'redis://r:6379', TOKEN_PUBLIC_KEYS_SECRET_ARN: arn }, secretsManagerSource('eu-west-1'));
      expect(await cfg.tokenKeys()).toEqual(JSON.parse(keys));
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    } finally {
      ssm.restore();
      sm.restore();
    }
  });
});
