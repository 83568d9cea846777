// The storefront's only door to the API: same-origin fetches to /api/*, the Bearer token of the
// session, and errors turned into sentences a shopper understands (sold out, slow down and for how
// long, signed out, can't reach the shop).
import { session } from './session';

export interface Product { id: string; sku: string; name: string; priceCents: number; currency: string; stock: number }
export interface OrderLine { productId: string; quantity: number; unitPriceCents: number }
export type OrderStatus = 'PENDING' | 'PAID' | 'PAYMENT_FAILED' | 'CANCELLED';
export interface Order { id: string; status: OrderStatus; totalCents: number; currency: string; items: OrderLine[]; createdAt: string; updatedAt?: string }
export interface Page<T> { items: T[]; nextCursor: string | null }

/** An API answer other than 2xx (status 0: no answer at all). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait before trying again, from Retry-After or the RateLimit header. */
    readonly retryAfterSeconds?: number,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the session's token (and sign out on a 401). */
  auth?: boolean;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const token = session.token();
  if (options.auth) {
    if (!token) throw new ApiError(401, 'signed_out', 'You are signed out. Log in to continue.');
    headers.authorization = `Bearer ${token}`;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, 'offline', 'The shop cannot be reached. Check your connection and try again.');
  }
  const text = await response.text();
  const data = text ? safeJson(text) : {};
  if (response.ok) return data as T;
  const error = toApiError(response, data as Record<string, unknown>);
  if (error.status === 401 && options.auth) session.end();
  throw error;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/** The wait a 429/503 asks for: Retry-After (seconds), else the `t=` of the RateLimit header. */
export function retryAfterSeconds(headers: Headers): number | undefined {
  const retryAfter = Number(headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.ceil(retryAfter);
  const reset = /(?:^|;)\s*t=(\d+)/.exec(headers.get('ratelimit') ?? '');
  return reset ? Number(reset[1]) : undefined;
}

function toApiError(response: Response, body: Record<string, unknown>): ApiError {
  const code = typeof body.error === 'string' ? body.error : `http_${response.status}`;
  const serverMessage = typeof body.message === 'string' ? body.message : '';
  const wait = retryAfterSeconds(response.headers);
  return new ApiError(response.status, code, humanMessage(response.status, code, serverMessage, wait), wait, body);
}

/** What the shopper reads for an error. */
export function humanMessage(status: number, code: string, serverMessage: string, wait?: number): string {
  const seconds = wait === undefined ? 'a few seconds' : `${wait} second${wait === 1 ? '' : 's'}`;
  if (status === 401) return 'You are signed out. Log in to continue.';
  if (status === 429) return `Too many requests right now. Please wait ${seconds} and try again.`;
  if (status === 503) return `The shop is busy. Please try again in ${seconds}.`;
  if (code === 'waiting_room_required') return 'This product is in a sale event. Join the waiting room to buy it.';
  const soldOut = /\(([^)]*)\) is out of stock: requested (\d+), available (\d+)/.exec(serverMessage);
  if (status === 409 && soldOut) {
    const [, name, , available] = soldOut;
    return available === '0' ? `Sold out: ${name} is no longer available.` : `Only ${available} of ${name} left. Lower the quantity and try again.`;
  }
  if (status >= 500) return 'Something went wrong on our side. Please try again.';
  return serverMessage || `The request failed (${status}).`;
}
