// Product page: price, stock (sold out says so and cannot be added), quantity, add to cart; a
// product of an open sale event points to its waiting room.
import { api, type Product } from '../api';
import { cart } from '../cart';
import { h, money } from '../dom';
import { errorBox, say, type View } from '../view';
import { openEventOf } from '../waiting-room';

export const productView: View = async (view) => {
  const id = view.parts[1] ?? '';
  let product: Product;
  try {
    product = await api<Product>(`/api/products/${encodeURIComponent(id)}`);
  } catch (err) {
    view.render('Product', errorBox(err));
    return;
  }
  if (view.left()) return;
  const status = h('p', { role: 'status', class: 'status' });
  const details = h(
    'dl',
    { class: 'details' },
    h('dt', {}, 'Price'), h('dd', {}, money(product.priceCents, product.currency)),
    h('dt', {}, 'SKU'), h('dd', {}, product.sku),
    h('dt', {}, 'Availability'), h('dd', { class: product.stock > 0 ? '' : 'sold-out' }, product.stock > 0 ? `${product.stock} in stock` : 'Sold out'),
  );
  const soldOut = product.stock === 0;
  const form = h(
    'form',
    { class: 'add', onsubmit: (event: Event) => {
      event.preventDefault();
      const quantity = Number(quantityInput.value);
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > Math.min(product.stock, 1000)) {
        say(status, h('span', { class: 'error' }, `Choose a quantity from 1 to ${Math.min(product.stock, 1000)}.`));
        quantityInput.focus();
        return;
      }
      cart.add(product, quantity);
      say(status, h('span', {}, `Added ${quantity} × ${product.name} to your cart. `, h('a', { href: '#/cart' }, 'View cart')));
    } },
    h('label', { for: 'quantity' }, 'Quantity'),
    h('input', { id: 'quantity', type: 'number', min: 1, max: Math.max(1, Math.min(product.stock, 1000)), value: 1, disabled: soldOut, inputmode: 'numeric' }),
    h('button', { type: 'submit', disabled: soldOut }, soldOut ? 'Sold out' : 'Add to cart'),
  );
  const quantityInput = form.querySelector('input')!;
  view.render(product.name, details, form, status);

  const event = await openEventOf(product.id).catch(() => undefined);
  if (event && !view.left()) {
    form.before(h('p', { class: 'notice' }, `${product.name} is part of the sale “${event.name}”. `, h('a', { href: `#/wait/${encodeURIComponent(event.eventId)}` }, 'Join the waiting room'), ' to buy it.'));
  }
};
