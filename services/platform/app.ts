// The HTTP application every service shares, built apart from the server (ports, timeouts, signals
// live in server.ts) so that tests can `inject` into it: Fastify with the TypeBox type provider,
// a body limit, request ids, the one error handler, the rate limiter, per-route metrics,
// /health/live + /health/ready, an OpenAPI document generated from the route schemas, and the hot
// paths a service may put in front of Fastify for its hottest requests (`addHotPath`).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import proxyAddr from '@fastify/proxy-addr';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onResponseHookHandler,
  type RequestPayload,
} from 'fastify';
import type { ServiceContext } from './context';
import { handleError } from './errors';
import { documentRoute, openApiHeader } from './openapi';
import { installRateLimit, RATE_LIMIT_HOOK } from './rate-limit/hook';

/** A Fastify instance whose route schemas type the handlers (TypeBox). */
export type SurgeApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** How a service adds its routes: `userRoutes(app, ctx)`, `orderRoutes(app, ctx)`, ... */
export type ServicePlugin = (app: SurgeApp, ctx: ServiceContext) => Promise<void>;

/**
 * A hot path answers one kind of request straight from the HTTP server, before Fastify (see
 * `addHotPath`): false to leave the request to Fastify untouched; true if it took the request, which
 * it then answers itself or hands to its route (`HotPathKit.toRoute`, once it has read the body).
 */
export type HotPath = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Counts one response of a route: its status and how long it took. */
export type ResponseCounter = (statusCode: number, milliseconds: number) => void;

/** What a hot path shares with the Fastify routes, so both answer alike. */
export interface HotPathKit {
  /** The client address as `request.ip` gives it (after the trusted proxies). */
  clientIp(req: IncomingMessage): string;
  /**
   * Adds what every response carries to `headers` and returns them: the request id as Fastify gives
   * it (the client's `X-Request-Id`, else a new one) and, while draining, `connection: close`.
   */
  withCommonHeaders(req: IncomingMessage, headers: Record<string, string | number>): Record<string, string | number>;
  /** The per-route metrics a route's responses are counted in, e.g. `GET /api/products/:id`. */
  countResponse(route: string): ResponseCounter;
  /**
   * Hands a request whose body the hot path has read to Fastify, which reads that body again (the
   * route's `preParsing: replayHotPathBody` gives it back), as if the hot path had not been there.
   */
  toRoute(req: IncomingMessage, res: ServerResponse, body: Buffer): void;
  /** A validator of one part of a route's schema, as the app compiles it (bodies strictly, other parts coerced). */
  validator(schema: object, part: 'body' | 'headers'): (value: unknown) => boolean;
}

/** Where a body read by a hot path waits for the route (`toRoute`, `replayHotPathBody`). */
const HOT_PATH_BODY = Symbol('surge.hotPathBody');

/**
 * preParsing hook of a route whose hot path may read the body and then hand the request over: Fastify
 * parses the body the hot path read (the request stream has ended by then), else the request's own.
 */
export function replayHotPathBody(request: FastifyRequest, _reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, body?: RequestPayload) => void): void {
  const body = (request.raw as IncomingMessage & { [HOT_PATH_BODY]?: Buffer })[HOT_PATH_BODY];
  done(null, body === undefined ? payload : Readable.from([body], { objectMode: false }));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Readiness answers 503 from now on (SIGTERM received); live and other routes keep working. */
    markDraining(): void;
    readonly draining: boolean;
    /**
     * Answers some requests of a route before Fastify sees them: for requests so hot that Fastify's
     * own per-request work is a large part of their cost (a product page during a sale, its sold-out
     * order attempts). The hot path must answer
     * exactly as the route would (tests compare the two) and hand anything else to the route. Add
     * them while registering routes; they take effect once the app is ready. `route` is the route it
     * stands in for (`GET /api/products/:id`): the app refuses to start if that route has a hook the
     * hot path does not do itself (see HOT_PATH_HOOKS); `alsoDoes` lists the route's own hooks that it
     * does (`requireUser`: it verifies the token too), as the functions the route was given.
     */
    addHotPath(route: string, make: (kit: HotPathKit) => HotPath, alsoDoes?: ReadonlyArray<(...args: never[]) => unknown>): void;
  }
}

function createAjv(coerceTypes: 'array' | false): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    // Reject unknown fields (schemas say additionalProperties: false) instead of stripping them.
    removeAdditional: false,
    useDefaults: true,
    allErrors: false,
    // Schemas may carry documentation keywords (description, examples) that ajv does not know.
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

const NO_RATE_LIMIT = { rateLimit: false as const };

/**
 * Request ids: 96 random bits drawn once per app (so ids stay unique across instances and restarts)
 * and a counter. A randomUUID per request showed in the cached-read profile; these are shorter too.
 */
export function requestIdGenerator(): () => string {
  const prefix = randomBytes(12).toString('base64url');
  let next = 0;
  return () => `${prefix}-${(next++).toString(36)}`;
}

/** The request id's header, read from the client (Fastify keeps a given id) and set on every answer. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** What Fastify sets for a serialized JSON response; a hot path (or a route sending a ready body) sets it by hand. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export async function buildApp(ctx: ServiceContext, plugins: ServicePlugin[]): Promise<SurgeApp> {
  const hops = ctx.config.trustedProxyHops;
  // Behind CloudFront and the ALB the client address is `hops` entries from the right of
  // X-Forwarded-For; trusting more would let clients pick their own rate-limit key.
  const trustProxy = (_address: string, hop: number) => hop < hops;
  const nextRequestId = requestIdGenerator();
  const hotPaths: HotPath[] = [];
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: ctx.config.bodyLimitBytes,
    trustProxy,
    requestIdHeader: REQUEST_ID_HEADER,
    genReqId: nextRequestId,
    // Per-request access logs cost more than the request (FIELD-NOTES); metrics count requests and
    // the error handler logs every 4xx/5xx with its request id.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is the service logger itself, not a child per request (an allocation on every
    // request); whoever logs for a request passes its id (`reqId`), as the error handler does.
    childLoggerFactory: (logger) => logger,
    // While closing, a request on an open keep-alive connection is served (with `Connection: close`),
    // not refused with a 503: the load balancer has stopped sending new ones (server.ts drains).
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Query strings, params and headers arrive as text and are coerced to the schema's types; JSON
  // bodies are not, so `{"quantity": "2"}` is a 400 rather than silently 2.
  const coercing = createAjv('array');
  const strict = createAjv(false);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));

  let draining = false;
  app.decorate('markDraining', () => {
    draining = true;
  });
  app.decorate('draining', {
    getter: () => draining,
  });
  app.decorate('tokens', ctx.tokens);

  app.setErrorHandler(handleError);

  // Hooks in callback style: on the hot read path an async hook's promise per request is measurable.
  // One hook for every response (one hook phase fewer on the hot path): the request id, and while
  // draining `connection: close`, so keep-alive clients reconnect to another instance and the server
  // can finish closing once in-flight requests are answered.
  /** What every response carries, from a route (the onSend hook) or a hot path (the kit) alike. */
  const decorateResponse = (requestId: string, headers: Record<string, string | number>) => {
    headers[REQUEST_ID_HEADER] = requestId;
    if (draining) headers.connection = 'close';
    return headers;
  };
  app.addHook('onSend', function decorateRouteResponse(request, reply, payload, done) {
    reply.headers(decorateResponse(request.id, {}));
    done(null, payload);
  });
  // Per-route metrics, bound once per route, so a response costs three additions (the not-found
  // handler counts its own; a hot path counts in its route's).
  const responseCounters = new Map<string, ResponseCounter>();
  const responseCounter = (route: string) => {
    let countResponse = responseCounters.get(route);
    if (!countResponse) {
      const dims = { Route: route };
      const requests = ctx.metrics.counter('Requests', dims);
      const errors5xx = ctx.metrics.counter('Errors5xx', dims);
      const latency = ctx.metrics.timer('Latency', dims);
      countResponse = (statusCode, milliseconds) => {
        requests();
        errors5xx(statusCode >= 500 ? 1 : 0);
        latency(milliseconds);
      };
      responseCounters.set(route, countResponse);
    }
    return countResponse;
  };
  const countReply = (countResponse: ResponseCounter) => (reply: FastifyReply) =>
    countResponse(reply.statusCode, reply.elapsedTime);
  app.addHook('onRoute', (route) => {
    const countResponse = countReply(responseCounter(`${[route.method].flat().join(',')} ${route.url}`));
    const own = route.onResponse === undefined ? [] : [route.onResponse].flat();
    const count: onResponseHookHandler = function countRouteResponse(_request, reply, done) {
      countResponse(reply);
      done();
    };
    route.onResponse = [...own, count as (typeof own)[number]];
  });
  // Fastify's own request listener, once the hot paths are in front of it (putHotPathsInFront).
  let toFastify: RequestListener | undefined;
  const kit: HotPathKit = {
    clientIp: (req) => proxyAddr(req, trustProxy),
    withCommonHeaders: (req, headers) => decorateResponse((req.headers[REQUEST_ID_HEADER] as string | undefined) || nextRequestId(), headers),
    countResponse: responseCounter,
    toRoute: (req, res, body) => {
      (req as IncomingMessage & { [HOT_PATH_BODY]?: Buffer })[HOT_PATH_BODY] = body;
      toFastify!(req, res);
    },
    validator: (schema, part) => (part === 'body' ? strict : coercing).compile(schema),
  };
  const hotPathRoutes: Array<{ route: string; alsoDoes: readonly string[] }> = [];
  app.decorate('addHotPath', (route: string, make: (kit: HotPathKit) => HotPath, alsoDoes: ReadonlyArray<(...args: never[]) => unknown> = []) => {
    // By the functions' names as they are at run time: a bundler may rename a function (esbuild's
    // `requireAdmission2`), and Fastify prints the name the function has.
    hotPathRoutes.push({ route, alsoDoes: alsoDoes.map((hook) => hook.name) });
    hotPaths.push(make(kit));
  });
  // A flood of 429s is a hot path too: one bound counter per policy.
  const limitedCounters = Object.fromEntries(
    Object.keys(ctx.config.rateLimits).map((policy) => [policy, ctx.metrics.counter('RateLimited', { Policy: policy })]),
  ) as Record<keyof typeof ctx.config.rateLimits, () => void>;
  const rateLimitUnmatched = installRateLimit(app, {
    limiter: ctx.limiter,
    policies: ctx.config.rateLimits,
    onLimited: (policy) => limitedCounters[policy](),
  });
  const countUnmatched = countReply(responseCounter('unmatched'));
  app.setNotFoundHandler({ preHandler: rateLimitUnmatched }, (request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` });
    countUnmatched(reply);
  });

  // Every documented route gets the shared error statuses it can answer and its security (openapi.ts).
  app.addHook('onRoute', (route) => documentRoute(route, { rateLimited: route.config?.rateLimit !== false, mayBeUnavailable: route.config?.answersFromProcess !== true }));
  await app.register(swagger, openApiHeader(ctx.service));

  app.get('/health/live', { config: NO_RATE_LIMIT, schema: { hide: true } }, async () => ({ status: 'live' }));
  app.get('/health/ready', { config: NO_RATE_LIMIT, schema: { hide: true } }, async (_request, reply) => {
    if (draining) return reply.status(503).send({ status: 'draining' });
    const health = await ctx.checkHealth();
    return reply.status(health.ready ? 200 : 503).send({ status: health.ready ? 'ready' : 'not_ready', database: health.database, redis: health.redis });
  });
  app.get('/openapi.json', { config: NO_RATE_LIMIT, schema: { hide: true } }, async () => app.swagger());

  for (const plugin of plugins) {
    await app.register(async (scope) => plugin(scope as unknown as SurgeApp, ctx));
  }
  await app.ready();
  for (const { route, alsoDoes } of hotPathRoutes) refuseHooksHotPathSkips(app, route, alsoDoes);
  if (hotPaths.length > 0) toFastify = putHotPathsInFront(app, hotPaths, ctx);
  return app;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Puts the hot paths in front of Fastify's handler, the server's one `request` listener, and returns
 * that handler. (Not through Fastify's `serverFactory`: with one, Fastify no longer binds the second
 * loopback address when listening on `localhost`.) Extra servers Fastify makes for `localhost` get its
 * plain handler.
 */
function putHotPathsInFront(app: SurgeApp, hotPaths: HotPath[], ctx: ServiceContext): RequestListener {
  const listeners = app.server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) throw new Error(`expected Fastify's one request listener, found ${listeners.length}`);
  const [route] = listeners;
  app.server.removeListener('request', route);
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      for (const answer of hotPaths) if (answer(req, res)) return;
    } catch (err) {
      // A hot path must never take the process down: the route answers instead, unless the
      // response had already started (then the connection is cut, as Fastify would do).
      ctx.logger.error({ err, reqId: res.getHeader(REQUEST_ID_HEADER) }, 'hot path failed; the route answers');
      if (res.headersSent) return void res.destroy();
    }
    route(req, res);
  });
  return route;
}

/**
 * The hooks a hot path does itself, by function name: the common headers (decorateResponse through
 * the kit), the route's metrics (kit.countResponse) and the rate limit (the hot path takes a leased
 * token and otherwise leaves the request to the route). Any other hook on its route - added by the
 * service or a plugin, in any phase - would be skipped for the requests the hot path answers.
 */
export const HOT_PATH_HOOKS: ReadonlySet<string> = new Set(['decorateRouteResponse', 'countRouteResponse', RATE_LIMIT_HOOK, replayHotPathBody.name]);

/**
 * Throws, naming the hook, when `route` (`GET /path/:param`) has a hook its hot path would skip: one
 * neither in HOT_PATH_HOOKS nor among the route's own hooks the hot path says it does (`alsoDoes`).
 */
export function refuseHooksHotPathSkips(app: FastifyInstance, route: string, alsoDoes: readonly string[] = []): void {
  const [method, url] = route.split(' ');
  const hooks = routeHooks(app, method, url);
  if (hooks === undefined) throw new Error(`hot path for ${route}: no such route`);
  const skipped = hooks.filter(({ name }) => !HOT_PATH_HOOKS.has(name) && !alsoDoes.includes(name));
  if (skipped.length > 0) {
    const named = skipped.map(({ phase, name }) => `${phase} ${name}`).join(', ');
    throw new Error(`hot path for ${route} would skip the route's hook(s) ${named}: do it in the hot path too (and name it in addHotPath's alsoDoes) or remove the hot path`);
  }
}

/**
 * The hooks of one route, every phase, with the names Fastify prints for them (printRoutes with
 * includeHooks is Fastify's only public view of a route's merged hooks: app-wide, plugin and route).
 * The print is a tree (`├── /api/products (GET)`, then `│   └── /:id (GET)` under it): a route's
 * path is its ancestors' segments and its own. An anonymous function prints as "anonymous()", so it
 * can never pass for a known one.
 */
function routeHooks(app: FastifyInstance, method: string, url: string): Array<{ phase: string; name: string }> | undefined {
  const lines = app.printRoutes({ method, includeHooks: true, commonPrefix: false }).split('\n');
  const segments: string[] = [];
  let found: Array<{ phase: string; name: string }> | undefined;
  for (const line of lines) {
    const node = /^([\s│]*)[├└]── (.+?)(?: \(([\w, ]+)\))?$/.exec(line);
    if (node) {
      const depth = node[1].length / 4;
      segments.length = depth;
      segments.push(node[2]);
      if (found) break;
      if (segments.join('') === url && node[3]?.split(', ').includes(method)) found = [];
      continue;
    }
    const hook = /^[\s│]*• \((\w+)\) (\[.*\])$/.exec(line);
    if (hook && found) for (const name of JSON.parse(hook[2]) as string[]) found.push({ phase: hook[1], name: name.replace(/\(\)$/, '') });
  }
  return found;
}
