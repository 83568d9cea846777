// Benchmark ceiling: a bare node:http server answering every request with the same product JSON the
// order service returns (env CEILING_BODY). Nothing Surge adds - no framework, cache, limiter or logs.
import { createServer } from 'node:http';

const body = Buffer.from(process.env.CEILING_BODY ?? '{}');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 70_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
