// What a page (view) gets from the router: where to render, the route's parameters, a way to
// register cleanup (stop polling when the shopper leaves) and the shared message area.
import { ApiError } from './api';
import { h } from './dom';

export interface ViewContext {
  /** Path segments after the hash, e.g. ['orders', '<id>'] for #/orders/<id>. */
  readonly parts: string[];
  readonly query: URLSearchParams;
  /** Renders the page: a heading (focused, for screen readers and keyboards) and its content. */
  render(title: string, ...content: Node[]): void;
  /** Runs when the shopper leaves the page. */
  onLeave(cleanup: () => void): void;
  /** True once the shopper has left (a late answer must not draw over the next page). */
  readonly left: () => boolean;
}

export type View = (view: ViewContext) => void | Promise<void>;

/** An alert box for a failed request (role=alert: read out at once). */
export function errorBox(err: unknown): HTMLElement {
  const message = err instanceof ApiError ? err.message : 'Something went wrong. Please try again.';
  const box = h('p', { class: 'error', role: 'alert' }, message);
  if (err instanceof ApiError && err.status === 401) box.append(' ', h('a', { href: '#/login' }, 'Log in'));
  if (err instanceof ApiError && err.code === 'waiting_room_required' && typeof err.body.eventId === 'string') {
    box.append(' ', h('a', { href: `#/wait/${encodeURIComponent(err.body.eventId)}` }, 'Join the waiting room'));
  }
  return box;
}

/** Replaces the content of a message slot (an element with aria-live) with one message, or clears it. */
export function say(slot: HTMLElement, message?: Node | string): void {
  slot.replaceChildren(...(message === undefined ? [] : [message]));
}
