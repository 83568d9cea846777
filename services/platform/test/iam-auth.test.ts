// IAM database authentication: tokens signed locally with fake static credentials (no AWS call),
// one per login and renewed before they expire, the DB_AUTH=iam configuration the fleets get, and
// pools that log in as the configured role with the token as password (a real PostgreSQL whose role
// password is set to the token, since no local server checks IAM tokens).
import pg from 'pg';
import { generateTokenKey } from '../token-keys';
import { loadConfig, loadDatabaseConfig, type DatabaseLogin, type SecretSource } from '../config';
import { connectionOptions, createDatabase } from '../db';
import { iamAuthCredentials, RENEW_BEFORE_EXPIRY_MS, TOKEN_LIFETIME_MS } from '../iam-auth';
import { ownerDatabaseConfig } from '../ownership';
import { needsRealEngine, throwawayCluster, type ThrowawayCluster } from '../../test-support/testing';

// The default provider chain (what the fleets use) finds these first and never asks instance metadata.
process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret-for-tests';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// initdb and starting the throwaway cluster take seconds on a loaded machine.
jest.setTimeout(60_000);

const WRITER: DatabaseLogin = { host: 'surge-dev.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5433, user: 'order_service' };

/** Static fake credentials that count how often a token is signed (the signer asks once per token). */
function countingCredentials() {
  const counter = { signings: 0, fail: false };
  const credentials = async () => {
    counter.signings += 1;
    if (counter.fail) throw new Error('no credentials yet');
    return { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake-secret-for-tests' };
  };
  return { counter, credentials };
}

function fakeClock(start = Date.UTC(2026, 11, 2, 6, 0, 0)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const query = (token: string) => new URLSearchParams(token.slice(token.indexOf('?') + 1));

/** Every secret read fails: the IAM path must not need one. */
const noSecrets: SecretSource & { asked: string[] } = {
  asked: [],
  async getSecretString(arn) {
    this.asked.push(arn);
    throw new Error(`no secret may be read (asked for ${arn})`);
  },
};

describe('IAM auth tokens', () => {
  it('signs a presigned rds-db connect URL for the login, valid for the token lifetime', async () => {
    const { credentials } = countingCredentials();
    const token = await iamAuthCredentials({ region: 'eu-west-1', credentials }).password(WRITER);
    expect(token.startsWith(`${WRITER.host}:5433/?`)).toBe(true);
    const params = query(token);
    expect(params.get('Action')).toBe('connect');
    expect(params.get('DBUser')).toBe('order_service');
    expect(params.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(params.get('X-Amz-Credential')).toMatch(/^AKIAFAKEFAKEFAKEFAKE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/);
    expect(params.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // The renewal schedule assumes the signer's own expiry.
    expect(Number(params.get('X-Amz-Expires')) * 1000).toBe(TOKEN_LIFETIME_MS);
  });

  it('reuses one token per login until it is close to expiry, then signs a new one', async () => {
    const { counter, credentials } = countingCredentials();
    const clock = fakeClock();
    const iam = iamAuthCredentials({ region: 'eu-west-1', credentials, now: clock.now });
    const first = await iam.password(WRITER);
    clock.advance(TOKEN_LIFETIME_MS - RENEW_BEFORE_EXPIRY_MS - 1);
    expect(await iam.password(WRITER)).toBe(first);
    expect(counter.signings).toBe(1);
    clock.advance(1);
    await iam.password(WRITER);
    expect(counter.signings).toBe(2);
    // The renewed token is kept in turn.
    clock.advance(60_000);
    await iam.password(WRITER);
    expect(counter.signings).toBe(2);
  });

  it('keeps one token per host, port and user', async () => {
    const { counter, credentials } = countingCredentials();
    const iam = iamAuthCredentials({ region: 'eu-west-1', credentials, now: fakeClock().now });
    const reader = { ...WRITER, host: 'surge-dev.cluster-ro-abc.eu-west-1.rds.amazonaws.com' };
    const tokens = await Promise.all([
      iam.password(WRITER),
      iam.password(reader),
      iam.password({ ...WRITER, user: 'payment_service' }),
      iam.password({ ...WRITER, port: 5434 }),
      iam.password(reader),
    ]);
    expect(counter.signings).toBe(4);
    expect(tokens[4]).toBe(tokens[1]);
    expect(query(tokens[1]).get('DBUser')).toBe('order_service');
    expect(tokens[1].startsWith(`${reader.host}:5433/?`)).toBe(true);
    expect(query(tokens[2]).get('DBUser')).toBe('payment_service');
    expect(tokens[3].startsWith(`${WRITER.host}:5434/?`)).toBe(true);
  });

  it('signs once for a burst of new connections', async () => {
    const { counter, credentials } = countingCredentials();
    const iam = iamAuthCredentials({ region: 'eu-west-1', credentials, now: fakeClock().now });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => iam.password(WRITER)));
    expect(new Set(tokens).size).toBe(1);
    expect(counter.signings).toBe(1);
  });

  it('does not keep a failed signing: the next connection tries again', async () => {
    const { counter, credentials } = countingCredentials();
    const iam = iamAuthCredentials({ region: 'eu-west-1', credentials, now: fakeClock().now });
    counter.fail = true;
    await expect(iam.password(WRITER)).rejects.toThrow(/no credentials yet/);
    counter.fail = false;
    expect(query(await iam.password(WRITER)).get('DBUser')).toBe('order_service');
    expect(counter.signings).toBe(2);
  });
});

describe('DB_AUTH=iam', () => {
  const FLEET = {
    SURGE_ENV: 'dev',
    AWS_REGION: 'eu-west-1',
    DB_WRITER_HOST: WRITER.host,
    DB_READER_HOST: 'surge-dev.cluster-ro-abc.eu-west-1.rds.amazonaws.com',
    DB_PORT: '5433',
    DB_NAME: 'surge',
    DB_AUTH: 'iam',
    DB_USER: 'order_service',
  };

  it('logs in as DB_USER with a token as password, over TLS, reading no secret', async () => {
    const cfg = await loadDatabaseConfig(FLEET, noSecrets);
    expect(cfg.writerUrl).toBe(`postgres://order_service@${WRITER.host}:5433/surge`);
    expect(cfg.readerUrl).toBe(`postgres://order_service@${FLEET.DB_READER_HOST}:5433/surge`);
    expect(cfg.tls).toEqual({ ca: undefined });
    const options = connectionOptions(cfg, cfg.readerUrl);
    expect(options).toMatchObject({ host: FLEET.DB_READER_HOST, port: 5433, database: 'surge', user: 'order_service' });
    // The password pg asks for is a token for this endpoint and user, signed for AWS_REGION.
    const token = await (options.password as () => Promise<string>)();
    expect(token.startsWith(`${FLEET.DB_READER_HOST}:5433/?`)).toBe(true);
    expect(query(token).get('DBUser')).toBe('order_service');
    expect(query(token).get('X-Amz-Credential')).toContain('/eu-west-1/rds-db/');
    expect(noSecrets.asked).toEqual([]);
  });

  it('ignores the master secret even when its ARN is still set', async () => {
    const cfg = await loadDatabaseConfig({ ...FLEET, DB_SECRET_ARN: 'arn:db' }, noSecrets);
    expect(new URL(cfg.writerUrl).password).toBe('');
    expect(noSecrets.asked).toEqual([]);
  });

  it('names the variable that is missing or wrong', async () => {
    await expect(loadDatabaseConfig({ ...FLEET, DB_USER: 'Order-Service' }, noSecrets)).rejects.toThrow(/^DB_USER: must be a lower-case PostgreSQL role name, got "Order-Service"/);
    const { AWS_REGION: _region, ...noRegion } = FLEET;
    await expect(loadDatabaseConfig(noRegion, noSecrets)).rejects.toThrow(/^AWS_REGION: is required with DB_AUTH=iam/);
    await expect(loadDatabaseConfig({ ...FLEET, DB_AUTH: 'password' }, noSecrets)).rejects.toThrow(/^DB_AUTH: must be one of secret, iam, got "password"/);
    await expect(loadDatabaseConfig({ ...FLEET, DB_TLS: 'false' }, noSecrets)).rejects.toThrow(/^DB_TLS: may be false only with SURGE_ENV=local/);
  });

  it('without DB_USER the URLs name no user, and a pool is refused rather than logging in as the OS user', async () => {
    const { DB_USER: _user, ...noUser } = FLEET;
    const cfg = await loadDatabaseConfig(noUser, noSecrets);
    expect(cfg.writerUrl).toBe(`postgres://${WRITER.host}:5433/surge`);
    expect(() => connectionOptions(cfg, cfg.writerUrl)).toThrow(/^no database user to log in to surge-dev\.cluster-abc\S+ as: set DB_USER/);
    // A pool given its role (here in the URL) logs in as it.
    expect(connectionOptions(cfg, `postgres://payment_service@${WRITER.host}:5433/surge`)).toMatchObject({ user: 'payment_service' });
    expect(cfg.credentials!.user).toBeUndefined();
  });

  it('the worker (no DB_USER) opens each service\'s pools as that service\'s role, with a token signed for it', async () => {
    const { DB_USER: _user, ...worker } = FLEET;
    const cfg = await loadDatabaseConfig(worker, noSecrets);
    for (const owner of ['order', 'payment'] as const) {
      const own = ownerDatabaseConfig(cfg, owner);
      const options = connectionOptions(own, own.writerUrl);
      expect(options).toMatchObject({ host: WRITER.host, user: `${owner}_service` });
      expect(query(await (options.password as () => Promise<string>)()).get('DBUser')).toBe(`${owner}_service`);
      expect(own.searchPath).toEqual([`${owner}_service`]);
    }
  });

  it('without DB_AUTH the login still comes from DB_SECRET_ARN (the migration step)', async () => {
    const { DB_AUTH: _auth, DB_USER: _user, ...migrationStep } = FLEET;
    await expect(loadDatabaseConfig(migrationStep, noSecrets)).rejects.toThrow(/^DB_SECRET_ARN: is required/);
  });

  it('a whole service configuration loads from it without the database secret', async () => {
    const keys = JSON.stringify({ keys: [generateTokenKey('k1')] });
    const cfg = await loadConfig({ ...FLEET, REDIS_URL: 'rediss://redis.example:6379', TOKEN_KEYS: keys }, noSecrets);
    expect(new URL(cfg.database.writerUrl).username).toBe('order_service');
    expect(cfg.database.credentials).toBeDefined();
    expect(noSecrets.asked).toEqual([]);
  });
});

needsRealEngine('postgres', 'it runs its own PostgreSQL cluster with password authentication')('pools with IAM auth', () => {
  const ROLE = 'iam_probe';
  let cluster: ThrowawayCluster;
  let admin: pg.Client;

  beforeAll(async () => {
    cluster = await throwawayCluster();
    admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${ROLE} LOGIN`);
  });

  afterAll(async () => {
    await admin?.end();
    cluster?.destroy();
  });

  it('open every connection as DB_USER with the cached token as password', async () => {
    const cfg = await loadDatabaseConfig(
      {
        SURGE_ENV: 'local',
        AWS_REGION: 'eu-west-1',
        DB_WRITER_HOST: '127.0.0.1',
        DB_PORT: String(cluster.port),
        DB_NAME: 'surge',
        DB_TLS: 'false',
        DB_AUTH: 'iam',
        DB_USER: ROLE,
        DB_POOL_MAX: '3',
      },
      noSecrets,
    );
    // The token the pools will be handed (cached for this login) becomes the role's password, as if
    // the server checked the signature.
    const token = await cfg.credentials!.password({ host: '127.0.0.1', port: cluster.port, user: ROLE });
    await admin.query(`ALTER ROLE ${ROLE} PASSWORD ${admin.escapeLiteral(token)}`);
    const db = createDatabase(cfg);
    try {
      const clients = await Promise.all([db.writer.connect(), db.writer.connect(), db.writer.connect()]);
      const users = await Promise.all(clients.map((c) => c.query<{ u: string }>('SELECT current_user AS u')));
      clients.forEach((c) => c.release());
      expect(users.map((r) => r.rows[0].u)).toEqual([ROLE, ROLE, ROLE]);
    } finally {
      await db.close();
    }
    // Any other password is refused: the pools really sent the token.
    await admin.query(`ALTER ROLE ${ROLE} PASSWORD 'not-the-token'`);
    const refused = createDatabase(cfg);
    try {
      await expect(refused.writer.query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await refused.close();
    }
  });
});
