// The shopper's orders: a list (newest first, keyset paging) and one order's page, which follows a
// PENDING order until payment settles it (PAID or PAYMENT_FAILED) and lets the shopper cancel it.
import { api, type Order, type OrderStatus, type Page, type Product } from '../api';
import { h, money } from '../dom';
import { errorBox, say, type View } from '../view';

const STATUS_TEXT: Record<OrderStatus, string> = {
  PENDING: 'Waiting for payment',
  PAID: 'Paid',
  PAYMENT_FAILED: 'Payment failed',
  CANCELLED: 'Cancelled',
};
/** How often a PENDING order is asked for again; the payment worker usually settles it within a second. */
const POLL_MS = 1000;

function statusBadge(status: OrderStatus): HTMLElement {
  return h('span', { class: `badge ${status.toLowerCase()}`, 'data-status': status }, STATUS_TEXT[status]);
}

const when = (iso: string) => new Date(iso).toLocaleString();

export const ordersView: View = async (view) => {
  const cursor = view.query.get('cursor');
  const list = h('div', { 'aria-busy': 'true' }, h('p', {}, 'Loading your orders…'));
  view.render('Your orders', list);
  try {
    const page = await api<Page<Order>>(`/api/orders?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: true });
    if (view.left()) return;
    const items = page.items.map((order) => h(
      'li',
      { class: 'card' },
      h('a', { href: `#/orders/${order.id}` }, `Order of ${when(order.createdAt)}`),
      h('span', { class: 'price' }, money(order.totalCents, order.currency)),
      statusBadge(order.status),
    ));
    list.replaceChildren(
      items.length ? h('ul', { class: 'orders' }, ...items) : h('p', {}, 'No orders yet. ', h('a', { href: '#/' }, 'Browse products')),
      h('nav', { class: 'pager', 'aria-label': 'Pages' },
        cursor ? h('a', { href: '#/orders' }, 'Newest orders') : null,
        page.nextCursor ? h('a', { href: `#/orders?cursor=${encodeURIComponent(page.nextCursor)}`, rel: 'next' }, 'Older orders') : null),
    );
  } catch (err) {
    list.replaceChildren(errorBox(err));
  }
  list.setAttribute('aria-busy', 'false');
};

export const orderView: View = async (view) => {
  const id = view.parts[1] ?? '';
  const path = `/api/orders/${encodeURIComponent(id)}`;
  const statusLine = h('p', { role: 'status', class: 'order-status' });
  const messages = h('div', { 'aria-live': 'assertive' });
  const actions = h('p', {});
  const lines = h('tbody', {});
  const total = h('td', {});
  const table = h(
    'table',
    { class: 'cart' },
    h('caption', { class: 'visually-hidden' }, 'Items in this order'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Quantity'), h('th', { scope: 'col' }, 'Price'))),
    lines,
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 2 }, 'Total'), total)),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  view.onLeave(() => clearTimeout(timer));

  let order: Order;
  try {
    order = await api<Order>(path, { auth: true });
  } catch (err) {
    view.render('Order', errorBox(err));
    return;
  }
  if (view.left()) return;
  view.render('Order', statusLine, table, actions, messages);
  lines.replaceChildren(...order.items.map((line) => {
    const name = h('th', { scope: 'row' }, line.productId);
    void api<Product>(`/api/products/${line.productId}`).then((p) => name.replaceChildren(h('a', { href: `#/products/${p.id}` }, p.name)), () => undefined);
    return h('tr', {}, name, h('td', {}, line.quantity), h('td', {}, money(line.unitPriceCents * line.quantity, order.currency)));
  }));
  total.textContent = money(order.totalCents, order.currency);
  show(order);

  function show(current: Order): void {
    order = current;
    statusLine.replaceChildren('Status: ', statusBadge(current.status), ` · placed ${when(current.createdAt)}`);
    actions.replaceChildren(current.status === 'PENDING' ? h('button', { type: 'button', onclick: cancel }, 'Cancel order') : h('a', { href: '#/' }, 'Continue shopping'));
    if (current.status === 'PENDING') timer = setTimeout(poll, POLL_MS);
  }

  async function poll(): Promise<void> {
    try {
      const current = await api<Order>(path, { auth: true });
      if (!view.left()) show(current);
    } catch (err) {
      if (view.left()) return;
      say(messages, errorBox(err));
      timer = setTimeout(poll, POLL_MS * 3);
    }
  }

  async function cancel(event: Event): Promise<void> {
    (event.currentTarget as HTMLButtonElement).disabled = true;
    clearTimeout(timer);
    say(messages);
    try {
      const current = await api<Order>(`${path}/cancel`, { method: 'POST', auth: true, body: {} });
      if (!view.left()) show(current);
    } catch (err) {
      if (view.left()) return;
      say(messages, errorBox(err));
      // The order may have been settled meanwhile (a 409 names its status): show what it is now.
      void poll();
    }
  }
};
