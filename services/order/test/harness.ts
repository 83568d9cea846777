// Test harness shared by the order and payment HTTP tests: a migrated test database, a service
// context built by the platform's createTestContext (env-style settings, as in production), the app
// with the given route plugins, and Bearer headers for made-up users.
import { randomUUID } from 'node:crypto';
import { buildApp, type ServicePlugin, type SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import {
  createTestContext,
  createTestDatabase,
  listenForTest,
  type TestClient,
  type TestContextOptions,
  type TestDatabase,
} from '../../test-support/testing';

export interface TestService {
  app: SurgeApp;
  /** Sends a real HTTP request to the app listening on 127.0.0.1 (port 0); `payload` objects go as JSON. */
  request: TestClient['request'];
  /** Where it listens, for requests `request` cannot make (HEAD). */
  baseUrl: string;
  ctx: ServiceContext;
  /** The test database; its pools are separate from the app's, for assertions. */
  database: TestDatabase;
  /** A Bearer header for `userId` (a fresh user when omitted). */
  authFor(userId?: string): Promise<{ authorization: string }>;
  close(): Promise<void>;
}

export async function startTestService(
  plugins: ServicePlugin[],
  options: Omit<TestContextOptions, 'databaseUrl'> = {},
): Promise<TestService> {
  const database = await createTestDatabase();
  const ctx = await createTestContext({ ...options, databaseUrl: database.url });
  const app = await buildApp(ctx, plugins);
  // Real HTTP rather than app.inject: light-my-request needs the ESM-only `cookie`, which jest cannot load.
  const client = await listenForTest(app);
  return {
    app,
    request: client.request,
    baseUrl: client.baseUrl,
    ctx,
    database,
    async authFor(userId = randomUUID()) {
      return { authorization: `Bearer ${(await ctx.tokens.issue(userId)).token}` };
    },
    async close() {
      await app.close();
      await ctx.close();
      await database.drop();
    },
  };
}
