// Cart and checkout. "Place order" sends the cart with this attempt's Idempotency-Key (cart.ts):
// the button is disabled while the order is on its way, and a double click, a retry after an error
// or a reload reuses the key, so the API answers with the same order instead of a second one.
import { api, type Order } from '../api';
import { cart } from '../cart';
import { h, money } from '../dom';
import { session } from '../session';
import { errorBox, say, type View } from '../view';
import { admissionToken, saleEvents } from '../waiting-room';

export const cartView: View = (view) => {
  const lines = cart.lines();
  if (lines.length === 0) {
    view.render('Your cart', h('p', {}, 'Your cart is empty. ', h('a', { href: '#/' }, 'Browse products')));
    return;
  }
  const status = h('div', { 'aria-live': 'assertive' });
  const currency = lines[0].currency;
  const total = lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
  const table = h(
    'table',
    { class: 'cart' },
    h('caption', { class: 'visually-hidden' }, 'Items in your cart'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Quantity'), h('th', { scope: 'col' }, 'Price'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    h('tbody', {}, ...lines.map((line) => h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('a', { href: `#/products/${line.productId}` }, line.name)),
      h('td', {}, h('input', {
        type: 'number', min: 1, max: 1000, value: line.quantity, 'aria-label': `Quantity of ${line.name}`,
        onchange: (event: Event) => {
          const quantity = Number((event.target as HTMLInputElement).value);
          if (Number.isInteger(quantity) && quantity >= 1 && quantity <= 1000) cart.setQuantity(line.productId, quantity);
          cartView(view);
        },
      })),
      h('td', {}, money(line.priceCents * line.quantity, line.currency)),
      h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => { cart.setQuantity(line.productId, 0); cartView(view); } }, 'Remove', h('span', { class: 'visually-hidden' }, ` ${line.name}`))),
    ))),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 2 }, 'Total'), h('td', {}, money(total, currency)), h('td', {}))),
  );
  const placeOrder = h('button', { type: 'button', class: 'primary', onclick: () => checkout() }, 'Place order');
  const checkoutArea = session.token()
    ? placeOrder
    : h('p', {}, h('a', { href: `#/login?next=${encodeURIComponent('#/cart')}` }, 'Log in'), ' or ', h('a', { href: `#/signup?next=${encodeURIComponent('#/cart')}` }, 'create an account'), ' to place your order.');
  view.render('Your cart', table, checkoutArea, status);

  let placing = false;
  async function checkout(): Promise<void> {
    if (placing) return;
    placing = true;
    placeOrder.disabled = true;
    placeOrder.textContent = 'Placing order…';
    say(status);
    try {
      const items = cart.lines().map(({ productId, quantity }) => ({ productId, quantity }));
      const headers: Record<string, string> = { 'idempotency-key': cart.checkoutKey() };
      const admission = await admissionFor(items.map((item) => item.productId));
      if (admission) headers['surge-admission'] = admission;
      const order = await api<Order>('/api/orders', { method: 'POST', auth: true, body: { items }, headers });
      cart.clear();
      location.hash = `#/orders/${order.id}`;
    } catch (err) {
      if (view.left()) return;
      say(status, errorBox(err));
      placing = false;
      placeOrder.disabled = false;
      placeOrder.textContent = 'Place order';
    }
  }
};

/** The admission token for the open sale event the cart's products are in, if the shopper has one. */
async function admissionFor(productIds: string[]): Promise<string | undefined> {
  const events = await saleEvents().catch(() => []);
  const event = events.find((e) => e.state === 'open' && e.productIds.some((id) => productIds.includes(id)));
  return event ? admissionToken(event.eventId) : undefined;
}
