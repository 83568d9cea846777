// A PostgreSQL stand-in for tests on a machine without PostgreSQL: one PGlite (PostgreSQL in
// WebAssembly) per test database, served on a loopback port so pools, child processes and bundles
// connect with a plain DATABASE_URL. PGlite has ONE backend for all connections, so this server
// hands it to one connection at a time for a whole exchange: from its first message to the end of a
// Sync or simple Query, and on through an open transaction. pglite-socket's own queue switches
// connections between single messages, which mixes up unnamed statements of concurrent clients.
// Consequence (why some suites need a real server): transactions never overlap, so row locks are
// never contended (SKIP LOCKED and NOWAIT have nothing to skip), and session state (SET, advisory
// locks) is shared by every connection.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ALL_SCHEMAS } from '../platform/ownership';
/** The part of PGlite used here (PGlite's own class type differs between its ESM and CommonJS typings). */
interface PGlite {
  isInTransaction(): boolean;
  exec(sql: string): Promise<unknown>;
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<void>;
  dumpDataDir(compression?: 'none' | 'gzip' | 'auto'): Promise<File | Blob>;
  close(): Promise<void>;
}

export interface EmbeddedPostgres {
  url: string;
  /** Stops the server and closes the PGlite instance (its data is gone). */
  stop(): Promise<void>;
}

/** A PGlite started from `template` (a dumpDataDir() tarball) or empty, listening on 127.0.0.1. */
export async function startEmbeddedPostgres(template?: Blob | File): Promise<EmbeddedPostgres & { db: PGlite }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  // pg_trgm: the catalog's trigram index (products_name_trgm) needs the extension loaded.
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const db = await PGlite.create({ ...(template ? { loadDataDir: template } : {}), extensions: { pg_trgm } });
  // The one session every connection shares ignores the search_path pools ask for at connect: every
  // service's schema is on it instead (so roles and schemas separate nothing here).
  await db.exec(`SET search_path TO ${ALL_SCHEMAS.join(', ')}`);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 100 });
  // Connection handlers pick the queue up from the server when they are created, i.e. after start.
  (server as unknown as { queryQueue: ExchangeQueue }).queryQueue = new ExchangeQueue(db);
  await server.start();
  return {
    db,
    // PGlite has one database and ignores credentials.
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

interface Pending {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: unknown) => void;
}

// Frontend messages after which the backend is ready for another client (unless in a transaction).
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'

/** The interface pglite-socket's handlers call (enqueue, clearQueueForHandler, ...), serving whole exchanges. */
class ExchangeQueue {
  private queue: Pending[] = [];
  private owner: number | undefined;
  private running = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.drain();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((item) => {
      if (item.handlerId !== handlerId) return true;
      item.reject(new Error('Handler disconnected'));
      return false;
    });
  }

  /** A client that went away mid-exchange or mid-transaction must not keep the backend. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK').catch(() => undefined);
    this.owner = undefined;
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const index = this.owner === undefined ? 0 : this.queue.findIndex((item) => item.handlerId === this.owner);
        if (index === -1 || this.queue.length === 0) return;
        const [item] = this.queue.splice(index, 1);
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
          item.resolve(bytes);
        } catch (err) {
          item.reject(err);
        }
        const type = item.message[0];
        // A startup message (its first byte is part of a small length, so 0) is an exchange of its own.
        const exchangeDone = type === 0 || type === SYNC || type === QUERY || type === TERMINATE;
        this.owner = exchangeDone && !this.db.isInTransaction() ? undefined : item.handlerId;
      }
    } finally {
      this.running = false;
    }
  }
}

/** The variable carrying the host's control URL from the global setup to the test workers. */
export const HOST_VARIABLE = 'SURGE_TEST_PGLITE_HOST';

/** Client of embedded-postgres-host.ts: new PGlite databases on loopback ports, for tests. */
export interface EmbeddedPostgresHost {
  /** Control URL (hand it to test processes in SURGE_TEST_PGLITE_HOST). */
  control: string;
  /** A new PGlite, migrated or empty, served on a loopback port; `drop()` stops it. */
  createDatabase(migrated: boolean): Promise<{ url: string; drop(): Promise<void> }>;
}

const HOST_SCRIPT = join(__dirname, 'embedded-postgres-host.ts');
const HOST_START_MS = 120_000;

/**
 * The host named by SURGE_TEST_PGLITE_HOST, or a new one in a child process, which neither keeps this
 * process alive nor outlives it (it exits when its stdin closes).
 */
export async function embeddedPostgresHost(control = process.env[HOST_VARIABLE]): Promise<EmbeddedPostgresHost> {
  control ??= await spawnHost();
  const ask = async (method: string, query: string): Promise<{ url?: string }> => {
    const response = await fetch(`${control}/databases?${query}`, { method });
    const body = (await response.json()) as { url?: string; error?: string };
    if (!response.ok) throw new Error(`embedded PostgreSQL: ${body.error}`);
    return body;
  };
  return {
    control,
    async createDatabase(migrated) {
      const { url } = await ask('POST', `migrated=${migrated}`);
      return { url: url!, drop: () => ask('DELETE', `url=${encodeURIComponent(url!)}`).then(() => undefined) };
    },
  };
}

async function spawnHost(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOST_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const control = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the embedded PostgreSQL host did not start within ${HOST_START_MS / 1000} s`)), HOST_START_MS);
    child.once('exit', (code) => reject(new Error(`the embedded PostgreSQL host exited with code ${code} before it listened`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { control: string }).control);
    });
  });
  for (const handle of [child, child.stdin, child.stdout] as unknown as Array<{ unref(): void }>) handle.unref();
  return control;
}
