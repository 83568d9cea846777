// The embedded engines `npm start` uses when no real ones are configured: PostgreSQL through PGlite
// (PostgreSQL in WebAssembly, served on a loopback port so `pg` connects as to any server) and SQS
// through fauxqs started in this process on 127.0.0.1. Both are fine for a demo and wrong for
// concurrency tests: PGlite has one backend, so transactions from all connections run one at a time.
import { mkdirSync } from 'node:fs';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ALL_SCHEMAS } from '../platform/ownership';

export interface EmbeddedEngine {
  /** Connection string (PostgreSQL) or endpoint (SQS). */
  url: string;
  stop(): Promise<void>;
}

/** PGlite with its data in `dataDir` (created if missing), reachable at the returned URL. */
export async function startEmbeddedPostgres(dataDir: string, maxConnections = 16): Promise<EmbeddedEngine> {
  mkdirSync(dataDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  // pg_trgm: the catalog's trigram index (products_name_trgm) needs the extension loaded.
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const db = await PGlite.create({ dataDir, extensions: { pg_trgm } });
  // PGlite ignores the role and the search_path each pool connects with (one session for every
  // connection): every service's schema is on that session's path instead, so the services find their
  // tables, and roles separate nothing here (services/README.md).
  await db.exec(`SET search_path TO ${ALL_SCHEMAS.join(', ')}`);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  return {
    // PGlite has one database and ignores credentials.
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** fauxqs in this process, bound to 127.0.0.1 on a free port. */
export async function startEmbeddedSqs(): Promise<EmbeddedEngine> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, stop: () => app.close() };
}

/** Creates `name` with a `<name>-dlq` dead-letter queue (idempotent: CreateQueue returns existing queues). */
export async function ensureQueueWithDlq(sqs: SQSClient, name: string, maxReceiveCount = 5): Promise<string> {
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const redrive = JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount });
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { RedrivePolicy: redrive, VisibilityTimeout: '60' } }))).QueueUrl!;
}
