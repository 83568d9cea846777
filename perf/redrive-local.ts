// `npm run redrive:local -- --endpoint http://127.0.0.1:<port> --from <dlq url> --to <queue url> [--max N]`
// Moves dead-lettered messages back to their queue on a local SQS endpoint (fauxqs), after the fix.
// On AWS use `npm run redrive` (ops/redrive.ts), which uses SQS's own message move task.
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { moveDeadLetters } from './lib/dead-letters';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { endpoint: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, max: { type: 'string', default: '1000' } },
  });
  for (const flag of ['endpoint', 'from', 'to'] as const) if (!values[flag]) throw new Error(`--${flag} is required`);
  const endpoint = new URL(values.endpoint!);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(endpoint.hostname)) throw new Error(`--endpoint must be a loopback URL, got ${endpoint.hostname}`);
  const max = Number(values.max);
  if (!Number.isInteger(max) || max < 1) throw new Error(`--max must be a positive whole number, got "${values.max}"`);
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: endpoint.toString(), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    const moved = await moveDeadLetters(sqs, values.from!, values.to!, max);
    console.log(`moved ${moved} message(s) from ${values.from} to ${values.to}`);
  } finally {
    sqs.destroy();
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(`redrive:local: ${err.message}`);
  process.exit(1);
});
