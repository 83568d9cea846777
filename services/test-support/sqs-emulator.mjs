// Runs fauxqs (an SQS emulator, ESM-only) on 127.0.0.1 and a free port, for jest, which cannot load
// ESM packages. Prints {"endpoint": "..."} on its first stdout line; exits when stdin closes (the
// parent test died) or on SIGTERM.
import { buildApp } from 'fauxqs';

const app = buildApp({ logger: false });
const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ endpoint })}\n`);

const stop = () => app.close().finally(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
