// The order service with its product cache switched off (every GET /api/products/:id goes to the
// reader pool), for the "cache off" benchmark. The services have no such switch yet (requested in
// /tmp/surge-coord/P1-requests.md), so this entry builds the same context and app as runService
// and swaps only the cache for a pass-through.
import { orderRoutes } from '../../services/order/routes';
import { buildApp } from '../../services/platform/app';
import type { Cache } from '../../services/platform/cache';
import { loadConfig } from '../../services/platform/config';
import { createServiceContext } from '../../services/platform/context';

const noCache: Cache = {
  async getOrLoad(_key, _ttl, load) {
    return { value: await load(), hit: false };
  },
  async delete() {},
};

async function main(): Promise<void> {
  const config = await loadConfig();
  const real = await createServiceContext(config, { service: 'order' });
  const app = await buildApp({ ...real, cache: noCache }, [orderRoutes]);
  await app.listen({ port: config.port, host: config.host });
  process.on('SIGTERM', () => {
    void app.close().then(() => real.close()).then(() => process.exit(0));
  });
}

void main();
