// `npm start` serves the storefront build (web/build.ts) at `/` next to the API, with the same
// Cache-Control as the S3 bucket behind CloudFront: index.html at `/` and `/index.html`, hashed
// files under `/assets/`. The build is small, so it is read into memory once at start.
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ServicePlugin } from '../platform/app';
import { ASSETS_DIR, CACHE_CONTROL, INDEX_HTML } from '../../web/build';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
/** Static files are not API calls: the API's per-client limits do not apply to them. */
const STATIC_ROUTE = { config: { rateLimit: false as const }, schema: { hide: true } };

export function storefrontRoutes(buildDir: string): ServicePlugin {
  const index = readFileSync(join(buildDir, INDEX_HTML));
  const assets = new Map(readdirSync(join(buildDir, ASSETS_DIR)).map((name) => [name, readFileSync(join(buildDir, ASSETS_DIR, name))]));
  return async (app) => {
    for (const path of ['/', `/${INDEX_HTML}`]) {
      app.get(path, STATIC_ROUTE, async (_request, reply) =>
        reply.header('content-type', CONTENT_TYPES['.html']).header('cache-control', CACHE_CONTROL.index).send(index),
      );
    }
    app.get<{ Params: { file: string } }>(`/${ASSETS_DIR}/:file`, STATIC_ROUTE, async (request, reply) => {
      const body = assets.get(request.params.file);
      if (!body) return reply.status(404).send({ error: 'not_found', message: `/${ASSETS_DIR}/${request.params.file} does not exist` });
      return reply
        .header('content-type', CONTENT_TYPES[extname(request.params.file)] ?? 'application/octet-stream')
        .header('cache-control', CACHE_CONTROL.asset)
        .send(body);
    });
  };
}
