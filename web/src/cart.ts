// The cart lives in the browser (localStorage) until checkout. Checkout's Idempotency-Key belongs to
// one attempt: the same cart keeps the same key across retries, double clicks and reloads, so the
// API replays the first order instead of placing a second one; a changed cart is a new attempt.
import type { Product } from './api';

export interface CartLine { productId: string; name: string; priceCents: number; currency: string; quantity: number }

const CART = 'surge.cart';
const ATTEMPT = 'surge.checkout-attempt';
const listeners = new Set<() => void>();

function save(lines: CartLine[]): void {
  localStorage.setItem(CART, JSON.stringify(lines));
  listeners.forEach((listener) => listener());
}

export const cart = {
  lines(): CartLine[] {
    try {
      return JSON.parse(localStorage.getItem(CART) ?? '[]') as CartLine[];
    } catch {
      return [];
    }
  },
  count(): number {
    return cart.lines().reduce((sum, line) => sum + line.quantity, 0);
  },
  add(product: Product, quantity: number): void {
    const lines = cart.lines();
    const line = lines.find((l) => l.productId === product.id);
    if (line) line.quantity += quantity;
    else lines.push({ productId: product.id, name: product.name, priceCents: product.priceCents, currency: product.currency, quantity });
    save(lines);
  },
  setQuantity(productId: string, quantity: number): void {
    save(cart.lines().flatMap((line) => (line.productId !== productId ? [line] : quantity > 0 ? [{ ...line, quantity }] : [])));
  },
  clear(): void {
    save([]);
    localStorage.removeItem(ATTEMPT);
  },
  onChange(listener: () => void): void {
    listeners.add(listener);
  },
  /** The Idempotency-Key of this cart's checkout: kept while the cart stays the same. */
  checkoutKey(): string {
    const signature = JSON.stringify(cart.lines().map(({ productId, quantity }) => [productId, quantity]));
    const stored = JSON.parse(localStorage.getItem(ATTEMPT) ?? 'null') as { signature: string; key: string } | null;
    if (stored?.signature === signature) return stored.key;
    const key = crypto.randomUUID();
    localStorage.setItem(ATTEMPT, JSON.stringify({ signature, key }));
    return key;
  },
};
