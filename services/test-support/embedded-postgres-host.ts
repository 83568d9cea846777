// Serves the embedded test databases of a whole jest run from one process (jest cannot run PGlite
// in its workers: PGlite loads its WebAssembly through a dynamic import, which jest's module sandbox
// refuses). Started by the engines' global setup (embedded-postgres.ts, `node --import tsx`); builds
// the migrated template first, then prints {"control": "http://127.0.0.1:<port>"} and answers
//   POST   /databases?migrated=true|false  -> {"url": "postgres://..."}  (a new PGlite on its own port)
//   DELETE /databases?url=<url>            -> {}                         (stops it)
// Exits when stdin closes (jest ended or died) or on SIGTERM.
import { createServer } from 'node:http';
import { createDatabase } from '../platform/db';
import { migrate } from '../platform/migrate';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';

const running = new Map<string, EmbeddedPostgres>();

// Every migrated database starts from one PGlite migrated once and dumped: loading a dump takes about
// a second, a fresh PGlite several and the migrations more.
async function buildMigratedTemplate(): Promise<File | Blob> {
  const blank = await startEmbeddedPostgres();
  const db = createDatabase({ writerUrl: blank.url, readerUrl: blank.url, poolMax: 1 });
  try {
    await migrate(db.writer);
    return await blank.db.dumpDataDir('none');
  } finally {
    await db.close();
    await blank.stop();
  }
}

async function main(): Promise<void> {
  const template = await buildMigratedTemplate();
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://host');
    const answer = async (): Promise<object> => {
      if (url.pathname !== '/databases') throw new Error(`no such path ${url.pathname}`);
      if (request.method === 'POST') {
        const engine = await startEmbeddedPostgres(url.searchParams.get('migrated') === 'false' ? undefined : template);
        running.set(engine.url, engine);
        return { url: engine.url };
      }
      if (request.method === 'DELETE') {
        const key = url.searchParams.get('url') ?? '';
        const engine = running.get(key);
        running.delete(key);
        await engine?.stop();
        return {};
      }
      throw new Error(`no such method ${request.method}`);
    };
    answer().then(
      (body) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: Error) => response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.stack ?? err.message })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ control: `http://127.0.0.1:${port}` })}\n`);
}

const stop = async () => {
  await Promise.allSettled([...running.values()].map((engine) => engine.stop()));
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
main().catch((err: Error) => {
  process.stderr.write(`embedded PostgreSQL host failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
