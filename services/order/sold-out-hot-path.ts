// The sold-out stampede of a sale, answered before Fastify: POST /api/orders that the stock gate
// refuses (./stock-gate) gets its 409 straight from the HTTP server. After a sale's first second almost
// every attempt is such a refusal, and once the gate answers without PostgreSQL, Fastify's per-request
// work (request and reply objects, routing, body parsing, five hook phases, the error handler) is what
// this saves: about a tenth of the order service's CPU per refusal in the flash-sale drill, side by side
// (docs/RELIABILITY.md, which also says where the rest goes).
//
// The hot path answers only what the route would answer 409 for, exactly as the route would: a valid
// token already verified in this process, a body and headers the route's schema accepts, no open sale
// event in the way, the gate's refusal, and a token of the route's rate limit (taken last, so a request
// handed over has spent nothing). Anything else - a token to verify for the first time, a
// 400, a 401, a 403, a 429, an order the database must decide, an unexpected error - goes to the route
// with the body already read (`kit.toRoute`), and the route answers as if the hot path were not there.
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JSON_CONTENT_TYPE, REQUEST_ID_HEADER, type HotPath, type HotPathKit } from '../platform/app';
import { bearerFromHeader } from '../platform/auth';
import type { ServiceContext } from '../platform/context';
import { outOfStockAnswer } from '../platform/errors';
import { rateLimitHeaders } from '../platform/rate-limit/headers';
import { rateLimitKey, userIdentity } from '../platform/rate-limit/limiter';
import { placeOrderSchema } from './schemas';
import type { StockGate } from './stock-gate';
import { ADMISSION_HEADER } from './waiting-room/routes';
import type { WaitingRoom } from './waiting-room/waiting-room';

const ORDERS_PATH = '/api/orders';
export const PLACE_ORDER_ROUTE = `POST ${ORDERS_PATH}`;
/** A sale's order is a line or two; a larger body goes to the route unread. */
const MAX_BODY_BYTES = 4096;

interface OrderBody {
  items: Array<{ productId: string; quantity: number }>;
}

export interface SoldOutHotPathOptions {
  gate: StockGate;
  /** The open sale events' gate, and the route's onResponse work (the waiting room's overload signal). */
  room: WaitingRoom;
}

export function soldOutHotPath(ctx: ServiceContext, kit: HotPathKit, { gate, room }: SoldOutHotPathOptions): HotPath {
  const policy = ctx.config.rateLimits.orders;
  const countResponse = kit.countResponse(PLACE_ORDER_ROUTE);
  const validBody = kit.validator(placeOrderSchema.body, 'body');
  const validHeaders = kit.validator(placeOrderSchema.headers, 'headers');
  const maxBody = Math.min(MAX_BODY_BYTES, ctx.config.bodyLimitBytes);

  /** Sends the route's 409 for `req` and true, or false when the route must answer. */
  const refuse = async (req: IncomingMessage, res: ServerResponse, token: string, raw: Buffer, started: number): Promise<boolean> => {
    let userId: string;
    try {
      ({ userId } = await ctx.tokens.verify(token));
    } catch {
      return false; // the route answers 401
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return false; // the route answers 400 naming the JSON error
    }
    if (!validBody(body) || !validHeaders(req.headers)) return false;
    const { items } = body as OrderBody;
    const idempotencyKey = req.headers['idempotency-key'] as string;
    const admission = req.headers[ADMISSION_HEADER];
    const blocked = await room.eventBlocking(
      items.map((item) => item.productId),
      userId,
      typeof admission === 'string' && admission.length > 0 ? admission : undefined,
    );
    if (blocked) return false; // the route answers 403
    const refused = gate.refusal({ userId, idempotencyKey, items });
    if (!refused) return false; // the database decides
    // The route's limit, spent where the route spends it: on a request that gets past validation.
    const limit = await ctx.limiter.take(rateLimitKey(policy, userIdentity(userId)), policy);
    if (!limit.allowed) return false; // the route answers 429 (asking the bucket again spends nothing)
    const { status, body: error } = outOfStockAnswer(refused.message);
    const payload = JSON.stringify(error);
    const limitHeaders = rateLimitHeaders(policy, limit);
    const sent = kit.withCommonHeaders(req, {
      'ratelimit-policy': limitHeaders['ratelimit-policy'],
      ratelimit: limitHeaders.ratelimit,
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(payload),
    });
    res.writeHead(status, sent);
    res.end(payload);
    // Logged as the error handler logs the route's refusal (at debug: a sale answers it by the thousand).
    ctx.logger.debug({ reqId: sent[REQUEST_ID_HEADER], status, error: error.error, message: error.message }, 'request rejected');
    const elapsed = performance.now() - started;
    countResponse(status, elapsed);
    room.recordOrderLatency(elapsed);
    return true;
  };

  return (req, res) => {
    // Outside a shortage nothing here can refuse: the route reads the body, once.
    if (req.method !== 'POST' || req.url !== ORDERS_PATH || !gate.knowsShortages()) return false;
    const { headers } = req;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= maxBody) || headers['transfer-encoding'] !== undefined || headers['content-type'] !== 'application/json') return false;
    const token = bearerFromHeader(headers.authorization);
    if (token === undefined) return false;
    const started = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A client gone mid-body: nothing to answer (Fastify would not answer either).
    req.once('error', () => res.destroy());
    req.once('end', () => {
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      refuse(req, res, token, raw, started).then(
        (answered) => answered || kit.toRoute(req, res, raw),
        (err) => {
          ctx.logger.error({ err }, 'sold-out hot path failed; the route answers');
          if (res.headersSent) res.destroy();
          else kit.toRoute(req, res, raw);
        },
      );
    });
    return true;
  };
}
