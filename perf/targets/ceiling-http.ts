// Benchmark ceiling: a bare node:http server answering every request with the same product JSON the
// order service returns (env CEILING_BODY). Nothing Surge adds - no framework, cache, limiter or logs.
// CEILING_HEADERS (a JSON object) adds fixed response headers: the bench sends the service's own
// (request id, rate limit, X-Cache, Cache-Control) to show what they cost both ends of the socket.
import { createServer } from 'node:http';

const body = Buffer.from(process.env.CEILING_BODY ?? '{}');
const extraHeaders = JSON.parse(process.env.CEILING_HEADERS ?? '{}') as Record<string, string>;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, ...extraHeaders });
  res.end(body);
});
server.keepAliveTimeout = 70_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
