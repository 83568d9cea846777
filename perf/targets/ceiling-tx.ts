// Benchmark ceiling for writes: a bare node:http server whose every POST runs one single-statement
// transaction on the writer - reserve one unit of the posted product - through a pg pool of the size the
// order service uses. What POST /api/orders adds on top (auth, validation, idempotency, order rows,
// outbox, rate limit) is measured against this.
import { createServer } from 'node:http';
import pg from 'pg';
import { searchPathOption } from '../../services/platform/ownership';

// idleTimeoutMillis 0: idle connections stay open between the bench's rounds. With pg's default (10 s)
// the pool closed its backends while the other side of a round ran, and a backend that exits takes its
// CPU time with it: the bench read less PostgreSQL CPU after a run than before it.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, options: searchPathOption(), max: Number(process.env.DB_POOL_MAX ?? 10), idleTimeoutMillis: 0 });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST') {
      res.writeHead(200).end('{"status":"ready"}');
      return;
    }
    const { items } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { items: Array<{ productId: string }> };
    pool
      .query('UPDATE products SET stock = stock - 1 WHERE id = $1 AND stock > 0 RETURNING stock', [items[0].productId])
      .then(
        (r) => res.writeHead(r.rowCount ? 202 : 409, { 'content-type': 'application/json' }).end(JSON.stringify(r.rows[0] ?? {})),
        () => res.writeHead(503).end('{}'),
      );
  });
});
server.keepAliveTimeout = 70_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
