// A Redis stand-in for tests on a machine without Redis: ioredis-mock (pure JavaScript, Lua through
// fengari) behind a small RESP2 server on a loopback port, so services, child processes and bundles
// connect with a plain REDIS_URL exactly as to a real server. Stopping it closes the listener and
// resets every connection, which the clients see as a dead server. Known differences from Redis
// (measured, see FIELD-NOTES): `EXPIRE ... NX` and `SET ... KEEPTTL`; WATCH is refused.
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import RedisMock from 'ioredis-mock';

export interface EmbeddedRedis {
  url: string;
  port: number;
  /** Closes the listener and resets every connection (data is kept until `start()`). */
  stop(): Promise<void>;
  /** Listens again on the same port, empty, like a restarted server without persistence. */
  start(): Promise<void>;
}

type Reply = null | string | number | Buffer | Error | Reply[];

// Commands answered here rather than by the mock: connection handshakes ioredis sends, and the
// script cache behind EVALSHA (ioredis' defineCommand tries EVALSHA before EVAL).
const ACCEPTED_NOOPS = new Set(['client', 'select', 'auth', 'readonly', 'readwrite']);

export interface EmbeddedRedisOptions {
  /** Let the process exit while it runs (a server shared by a whole test file). @default false */
  unref?: boolean;
}

/** Starts an embedded Redis on 127.0.0.1 (`port` 0 = a free one). */
export async function startEmbeddedRedis(port = 0, options: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  // ioredis-mock shares data between instances with the same host and port: give each server its own.
  const name = `embedded-redis-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const mock = new RedisMock({ host: name, port: 1 }) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>> & {
    multi(commands: string[][]): { exec(): Promise<Array<[Error | null, unknown]>> };
  };
  const scripts = new Map<string, string>();
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  async function run(command: string, args: string[]): Promise<Reply> {
    if (ACCEPTED_NOOPS.has(command)) return 'OK';
    if (command === 'script' && args[0]?.toLowerCase() === 'load') {
      const sha = createHash('sha1').update(args[1]).digest('hex');
      scripts.set(sha, args[1]);
      return sha;
    }
    if (command === 'evalsha') {
      const script = scripts.get(args[0]?.toLowerCase());
      if (!script) return new Error('NOSCRIPT No matching script. Please use EVAL.');
      return run('eval', [script, ...args.slice(1)]);
    }
    if (command === 'eval') {
      scripts.set(createHash('sha1').update(args[0]).digest('hex'), args[0]);
      args = [withWallClock(args[0]), ...args.slice(1)];
    }
    if (command === 'watch') return new Error('ERR WATCH is not supported by the embedded Redis');
    try {
      const method = mock[command];
      if (typeof method !== 'function') return new Error(`ERR unknown command '${command}'`);
      return toReply(await method.apply(mock, args));
    } catch (err) {
      const message = (err as Error).message;
      return new Error(/^[A-Z]+ /.test(message) ? message : `ERR ${message}`);
    }
  }

  function serve(socket: Socket): void {
    sockets.add(socket);
    if (options.unref) socket.unref();
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let transaction: string[][] | undefined;
    // One command at a time per connection, so replies keep the order of a pipeline.
    let chain = Promise.resolve();
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const parsed = parseCommand(buffered);
        if (!parsed) return;
        buffered = buffered.subarray(parsed.length);
        const [name, ...args] = parsed.command;
        chain = chain.then(async () => {
          const command = name.toLowerCase();
          let reply: Reply;
          if (command === 'multi') {
            transaction = [];
            reply = 'OK';
          } else if (command === 'exec' && transaction) {
            // The mock runs a MULTI block without yielding to other connections: atomic, as in Redis.
            const results = await mock.multi(transaction).exec();
            transaction = undefined;
            reply = results.map(([err, value]) => (err ? new Error(`ERR ${err.message}`) : toReply(value)));
          } else if (command === 'discard' && transaction) {
            transaction = undefined;
            reply = 'OK';
          } else if (transaction) {
            transaction.push([command, ...args]);
            reply = 'QUEUED';
          } else if (command === 'quit') {
            socket.end(encode('OK'));
            return;
          } else {
            reply = await run(command, args);
          }
          if (socket.writable) socket.write(encode(reply));
        });
      }
    });
  }

  async function start(): Promise<void> {
    await mock.flushall();
    scripts.clear();
    const listening = createServer(serve);
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => resolve());
    });
    port = (listening.address() as { port: number }).port;
    if (options.unref) listening.unref();
    server = listening;
  }

  await start();
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    start,
    async stop() {
      const closing = server;
      server = undefined;
      if (!closing) return;
      const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
      for (const socket of sockets) socket.resetAndDestroy();
      await closed;
    },
  };
}

/**
 * ioredis-mock 8.13.1 answers TIME with wall-clock seconds but microseconds from process.hrtime(),
 * which has nothing to do with the wall clock, so time inside a script jumps back and forth within a
 * second (a token bucket then refills wrongly). Scripts get TIME from this prologue instead, read
 * when the script starts, as Redis does. It stays on the script's first line so line numbers hold.
 */
function withWallClock(script: string): string {
  const now = Date.now();
  const seconds = Math.floor(now / 1000);
  const micros = (now % 1000) * 1000;
  return (
    `local __call = redis.call; redis.call = function(name, ...) ` +
    `if string.lower(name) == 'time' then return { '${seconds}', '${micros}' } end return __call(name, ...) end; ${script}`
  );
}

/** One client command (a RESP array of bulk strings) from the front of `input`, or undefined if incomplete. */
function parseCommand(input: Buffer): { command: string[]; length: number } | undefined {
  if (input.length === 0) return undefined;
  const lineEnd = (from: number) => {
    const at = input.indexOf('\r\n', from);
    return at === -1 ? undefined : at;
  };
  if (input[0] !== 0x2a /* '*' */) {
    // Inline command (redis-cli, telnet): words up to the line end.
    const end = lineEnd(0);
    if (end === undefined) return undefined;
    return { command: input.subarray(0, end).toString().trim().split(/\s+/), length: end + 2 };
  }
  let end = lineEnd(0);
  if (end === undefined) return undefined;
  const count = Number(input.subarray(1, end).toString());
  let offset = end + 2;
  const command: string[] = [];
  for (let i = 0; i < count; i++) {
    end = lineEnd(offset);
    if (end === undefined) return undefined;
    const size = Number(input.subarray(offset + 1, end).toString());
    const start = end + 2;
    if (input.length < start + size + 2) return undefined;
    command.push(input.subarray(start, start + size).toString());
    offset = start + size + 2;
  }
  return { command, length: offset };
}

/** The mock answers like ioredis does (strings, numbers, arrays, null); turn that back into RESP values. */
function toReply(value: unknown): Reply {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(toReply);
  if (typeof value === 'number' || typeof value === 'string' || Buffer.isBuffer(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : null;
  return String(value);
}

function encode(reply: Reply): string | Buffer {
  if (reply === null) return '$-1\r\n';
  if (reply instanceof Error) return `-${reply.message.replace(/\r?\n/g, ' ')}\r\n`;
  if (typeof reply === 'number') return `:${Math.trunc(reply)}\r\n`;
  if (Array.isArray(reply)) return Buffer.concat([Buffer.from(`*${reply.length}\r\n`), ...reply.map((r) => Buffer.from(encode(r)))]);
  const bytes = Buffer.isBuffer(reply) ? reply : Buffer.from(reply);
  return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')]);
}
