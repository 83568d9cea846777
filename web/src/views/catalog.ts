// Catalog: search by name and keyset paging (the API's nextCursor), both kept in the URL so the
// back button and shared links work: #/?q=shoe&cursor=...
import { api, type Page, type Product } from '../api';
import { h, money } from '../dom';
import { errorBox, type View } from '../view';

export const catalogView: View = async (view) => {
  const q = view.query.get('q') ?? '';
  const cursor = view.query.get('cursor') ?? '';
  const search = h(
    'form',
    { role: 'search', class: 'search', onsubmit: (event: Event) => {
      event.preventDefault();
      const value = (input.value ?? '').trim();
      location.hash = value ? `#/?q=${encodeURIComponent(value)}` : '#/';
    } },
    h('label', { for: 'search-q' }, 'Search products'),
    h('input', { id: 'search-q', name: 'q', type: 'search', value: q, maxlength: 100 }),
    h('button', { type: 'submit' }, 'Search'),
  );
  const input = search.querySelector('input')!;
  const results = h('div', { 'aria-busy': 'true' }, h('p', {}, 'Loading products…'));
  view.render(q ? `Products matching “${q}”` : 'Products', search, results);

  const params = new URLSearchParams({ limit: '20' });
  if (q) params.set('q', q);
  if (cursor) params.set('cursor', cursor);
  try {
    const page = await api<Page<Product>>(`/api/products?${params}`);
    if (view.left()) return;
    const list = h('ul', { class: 'products' }, ...page.items.map(productCard));
    const nav = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    if (cursor) nav.append(h('a', { href: q ? `#/?q=${encodeURIComponent(q)}` : '#/' }, 'First page'));
    if (page.nextCursor) {
      const next = new URLSearchParams({ ...(q ? { q } : {}), cursor: page.nextCursor });
      nav.append(h('a', { href: `#/?${next}`, rel: 'next' }, 'Next page'));
    }
    results.replaceChildren(page.items.length ? list : h('p', {}, 'No products match your search.'), nav);
  } catch (err) {
    results.replaceChildren(errorBox(err));
  }
  results.setAttribute('aria-busy', 'false');
};

function productCard(product: Product): HTMLElement {
  return h(
    'li',
    { class: 'card' },
    h('a', { href: `#/products/${product.id}` }, product.name),
    h('span', { class: 'price' }, money(product.priceCents, product.currency)),
    product.stock > 0 ? h('span', { class: 'stock' }, `${product.stock} in stock`) : h('span', { class: 'stock sold-out' }, 'Sold out'),
  );
}
