// PostgreSQL access: a writer pool (Aurora cluster endpoint) and a reader pool (reader endpoint),
// a transaction helper, and the test that tells "the database is down" apart from a bad query.
import pg from 'pg';
import type { DatabaseConfig, DatabaseCredentials } from './config';
import { searchPathOption } from './ownership';

export interface Database {
  /** Writes, and reads that must see the caller's own writes. */
  readonly writer: pg.Pool;
  /** Reads that may lag the writer slightly (replica lag is typically well under a second). */
  readonly reader: pg.Pool;
  close(): Promise<void>;
}

/** Anything that runs a parameterised query: a pool or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** With `name`, a prepared statement: parsed once per connection, then only bound and run. */
  query<R extends pg.QueryResultRow = any>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

export interface DatabaseOptions {
  /** Called with errors of idle connections (e.g. the server restarted); default: ignored. */
  onIdleError?: (err: Error) => void;
}

/** A pool closes a connection left idle this long (ms). */
export const POOL_IDLE_TIMEOUT_MS = 30_000;

export function createDatabase(cfg: DatabaseConfig, options: DatabaseOptions = {}): Database {
  const pool = (url: string) => {
    const p = new pg.Pool({
      ...connectionOptions(cfg, url),
      max: cfg.poolMax,
      // Fail fast when the database is unreachable, so requests get a 503 instead of hanging.
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS,
      // A runaway query should not hold a connection for longer than a request is worth.
      statement_timeout: 10000,
      // Set at connect, so every session of the pool resolves names in its owner's schema alone.
      options: searchPathOption(cfg.searchPath),
      ssl: cfg.tls ? { rejectUnauthorized: true, ca: cfg.tls.ca } : undefined,
    });
    // Without a listener an idle connection's error (server restart, failover) crashes the process.
    p.on('error', (err) => options.onIdleError?.(err));
    if (cfg.credentials) retryConnectAfterRotation(p, cfg.credentials);
    // pg-pool's own query() closes the connection after ANY error, a refused statement too (duplicate
    // key, an order that rolled itself back): on sale day every sold-out attempt would open a new
    // PostgreSQL connection. Through withClient a connection goes back to the pool unless it broke.
    p.query = ((config: string | pg.QueryConfig, values?: unknown[]) =>
      withClient(p, (client) => client.query(config, values))) as unknown as typeof p.query;
    return p;
  };
  const writer = pool(cfg.writerUrl);
  const reader = cfg.readerUrl === cfg.writerUrl ? writer : pool(cfg.readerUrl);
  let closed: Promise<void> | undefined;
  return {
    writer,
    reader,
    close() {
      closed ??= Promise.all([writer.end(), reader === writer ? undefined : reader.end()]).then(() => undefined);
      return closed;
    },
  };
}

/**
 * pg connection options for one endpoint. With credentials the password is a function pg calls for
 * every new connection, so a re-read secret or a renewed IAM token takes effect without a new pool;
 * the host, port, database and user still come from the URL (pg would let a URL's password override
 * the function).
 */
export function connectionOptions(cfg: DatabaseConfig, url: string): pg.PoolConfig {
  if (!cfg.credentials) return { connectionString: url };
  const credentials = cfg.credentials;
  const target = new URL(url);
  const login = { host: target.hostname, port: Number(target.port || 5432), user: decodeURIComponent(target.username) };
  // pg would fall back to the operating system's user, which no IAM grant names.
  if (!login.user) throw new Error(`no database user to log in to ${login.host} as: set DB_USER (DB_AUTH=iam) or give the pool its service's role`);
  return {
    host: login.host,
    port: login.port,
    database: decodeURIComponent(target.pathname.slice(1)),
    user: login.user,
    password: () => credentials.password(login),
  };
}

/** SQLSTATE for "password authentication failed". */
export const INVALID_PASSWORD = '28P01';

/**
 * After a rotation the database refuses the cached password (28P01) for new connections; existing
 * ones keep working. A refused connect re-reads the secret (shared and rate-limited by the
 * credentials) and tries once more when the password changed, so a request that comes after the
 * secret changed never sees the old password's failure.
 */
function retryConnectAfterRotation(p: pg.Pool, credentials: DatabaseCredentials): void {
  const connect = p.connect.bind(p) as () => Promise<pg.PoolClient>;
  p.connect = (async (callback?: unknown) => {
    // pg-pool's own callback-style callers are left alone; ours all use the promise.
    if (typeof callback === 'function') return (connect as (cb: unknown) => void)(callback);
    const generation = credentials.generation;
    try {
      return await connect();
    } catch (err) {
      if ((err as { code?: unknown }).code !== INVALID_PASSWORD) throw err;
      // Retry once if the password is now another than the one that may have been refused (another
      // connection's re-read counts too).
      if (credentials.generation === generation) await credentials.refresh();
      if (credentials.generation !== generation) return connect();
      throw err;
    }
  }) as typeof p.connect;
}

/** SQLSTATE for "a prepared statement of that name already exists". */
const DUPLICATE_PREPARED_STATEMENT = '42P05';

/**
 * Runs a named (prepared) statement outside a transaction: pg parses it once per connection, then only
 * binds and runs it. Where the server already holds the name for another connection - PGlite, which
 * `npm start` and Node-only test runs use, shares one backend between all connections - the statement
 * runs unnamed instead.
 */
export async function queryPrepared<R extends pg.QueryResultRow = any>(
  db: Queryable,
  statement: { name: string; text: string; values: unknown[] },
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(statement);
  } catch (err) {
    if ((err as { code?: unknown }).code !== DUPLICATE_PREPARED_STATEMENT) throw err;
    return db.query<R>(statement.text, statement.values);
  }
}

/**
 * Runs `fn` on one checked-out connection and returns it to the pool afterwards, or discards it when
 * it broke or `fn` failed because the server went away (`fn` may call `discard()` too). While a
 * client is checked out, pg-pool's own error listener is off: a server that ends the connection
 * between two queries (restart, failover, pg_terminate_backend) would emit an unhandled 'error' and
 * kill the process. The failing query rejects anyway; the listener here only keeps the event from
 * crashing us and marks the client broken.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient, discard: () => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const discard = () => {
    broken = true;
  };
  client.on('error', discard);
  try {
    return await fn(client, discard);
  } catch (err) {
    // A server that ends the session (57P01 on failover or termination) answers the query before the
    // socket closes: the connection is gone even though no 'error' event has arrived yet.
    if (isDatabaseUnavailable(err)) discard();
    throw err;
  } finally {
    client.off('error', discard);
    client.release(broken || undefined);
  }
}

/** Runs `fn` inside BEGIN/COMMIT on one connection; any error rolls back and is rethrown. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client, discard) => {
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        // The connection itself failed; do not return it to the pool.
        discard();
      }
      throw err;
    }
  });
}

// SQLSTATE classes meaning "the server is not there or not accepting work", not "your query is wrong".
// 28P01 (wrong password) too: after a rotation it lasts until the secret is re-read, seconds at most.
// 57014 (statement timeout): a writer too slow to answer within 10 s (failing over, overloaded) is
// answered as unavailable, not as a server error; it is still logged as a 5xx.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '08000', '08001', '08003', '08004', '08006', INVALID_PASSWORD]);
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN']);

/** True when `err` means the database cannot be reached right now (answer 503, not 500). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NODE_CODES.has(code))) return true;
  if (typeof message === 'string') {
    // pg reports pool and socket failures as plain Errors without a code.
    return /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error/i.test(
      message,
    );
  }
  if (err instanceof AggregateError) return err.errors.some(isDatabaseUnavailable);
  return false;
}
