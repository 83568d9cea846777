// Post-deploy smoke check: `npm run smoke -- --url https://shop.example.com`. Through the public
// entry (CloudFront -> ALB, or `npm start` locally) it checks that each service answers, registers a
// new user, logs in, reads a product and places an order, then waits until the worker fleet has
// charged it and the order is PAID. Exit code 0 when every step passed; each step prints one line.

export interface SmokeOptions {
  /** Base URL of the deployment, e.g. https://d123.cloudfront.net. */
  readonly baseUrl: string;
  /** How long to wait for the order to become PAID. */
  readonly paidWithinMs: number;
  readonly log: (line: string) => void;
}

export class SmokeFailure extends Error {}

/** Products the smoke tries to order before it gives up (each in an open sale event is skipped). */
const MAX_ORDER_TRIES = 10;

interface Reply {
  status: number;
  body: any;
}

async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, base), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the failure message
  }
  return { status: response.status, body };
}

function expectStatus(step: string, reply: Reply, expected: number): void {
  if (reply.status !== expected) {
    throw new SmokeFailure(`${step}: expected HTTP ${expected}, got ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
  }
}

/** Runs every step in order; throws SmokeFailure naming the first step that failed. */
export async function runSmoke(options: SmokeOptions): Promise<void> {
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const step = async (name: string, action: () => Promise<string>) => {
    const started = Date.now();
    const detail = await action();
    options.log(`ok   ${name} (${Date.now() - started} ms)${detail ? `: ${detail}` : ''}`);
  };

  await step('health: user, order and payment services answer through the public entry', async () => {
    expectStatus('order service (GET /api/products)', await call(base, 'GET', 'api/products?limit=1'), 200);
    expectStatus('user service (GET /api/users/me without a token)', await call(base, 'GET', 'api/users/me'), 401);
    expectStatus('payment service (GET /api/payments without a token)', await call(base, 'GET', 'api/payments'), 401);
    return '';
  });

  const email = `smoke-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = `smoke-${Math.random().toString(36).slice(2)}-Pw1`;
  await step('register', async () => {
    expectStatus('register', await call(base, 'POST', 'api/users', { body: { email, password, name: 'Smoke Check' } }), 201);
    return email;
  });

  let token = '';
  await step('login', async () => {
    const reply = await call(base, 'POST', 'api/users/login', { body: { email, password } });
    expectStatus('login', reply, 200);
    token = reply.body.token;
    if (typeof token !== 'string' || token.length === 0) throw new SmokeFailure('login: no token in the response');
    return '';
  });

  let candidates: string[] = [];
  await step('product read', async () => {
    const list = await call(base, 'GET', 'api/products?limit=50');
    expectStatus('product list', list, 200);
    // The payment sandbox declines amounts ending in .13; pick products that will be charged.
    candidates = (list.body.items as Array<{ id: string; priceCents: number; stock: number }>)
      .filter((p) => p.stock > 0 && p.priceCents % 100 !== 13)
      .map((p) => p.id);
    if (candidates.length === 0) throw new SmokeFailure('product read: no product in stock with a chargeable price in the first 50');
    expectStatus('product read', await call(base, 'GET', `api/products/${candidates[0]}`), 200);
    return candidates[0];
  });

  let orderId = '';
  await step('place order', async () => {
    // A product in an open sale event is sold through its waiting room (403 waiting_room_required):
    // the smoke buys the first product that is not, and says which it skipped.
    const skipped: string[] = [];
    for (const productId of candidates.slice(0, MAX_ORDER_TRIES)) {
      const reply = await call(base, 'POST', 'api/orders', {
        token,
        headers: { 'idempotency-key': `smoke-${email}-${productId}` },
        body: { items: [{ productId, quantity: 1 }] },
      });
      if (reply.status === 403 && reply.body?.error === 'waiting_room_required') {
        skipped.push(`${productId} (sale event ${reply.body.eventId})`);
        continue;
      }
      expectStatus('place order', reply, 202);
      orderId = reply.body.id;
      return skipped.length > 0 ? `${orderId}; skipped ${skipped.join(', ')}` : orderId;
    }
    throw new SmokeFailure(`place order: every product tried is in an open sale event's waiting room: ${skipped.join(', ')}`);
  });

  await step('order PAID (outbox -> order-placed -> payment worker -> payment-result -> order worker)', async () => {
    const deadline = Date.now() + options.paidWithinMs;
    let status = '';
    while (Date.now() < deadline) {
      const reply = await call(base, 'GET', `api/orders/${orderId}`, { token });
      expectStatus('order status', reply, 200);
      status = reply.body.status;
      if (status === 'PAID') return 'PAID';
      if (status !== 'PENDING') throw new SmokeFailure(`order ${orderId} ended ${status}, not PAID`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new SmokeFailure(`order ${orderId} still ${status} after ${options.paidWithinMs} ms`);
  });
}

function parseArgs(argv: readonly string[]): { url: string; paidWithinMs: number } {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const url = value('--url');
  if (!url || !/^https?:\/\/[^/]+/.test(url)) throw new SmokeFailure('usage: npm run smoke -- --url https://<your CloudFront or custom domain> [--paid-within-seconds 60]');
  const seconds = Number(value('--paid-within-seconds') ?? 60);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new SmokeFailure('--paid-within-seconds must be a positive number');
  return { url, paidWithinMs: seconds * 1000 };
}

if (require.main === module) {
  (async () => {
    const args = parseArgs(process.argv.slice(2));
    await runSmoke({ baseUrl: args.url, paidWithinMs: args.paidWithinMs, log: (line) => console.log(line) });
    console.log('smoke: every step passed');
  })().catch((err: Error) => {
    console.error(`smoke: FAILED: ${err.message}`);
    process.exit(1);
  });
}
