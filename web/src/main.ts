// The storefront: a hash router (#/, #/products/<id>, #/cart, #/orders, #/orders/<id>, #/login,
// #/signup, #/wait/<eventId>) so every page is index.html for S3 and CloudFront, the header with the
// cart count and the session, and focus moved to each new page's heading.
import './styles.css';
import { cart } from './cart';
import { h } from './dom';
import { session } from './session';
import type { View, ViewContext } from './view';
import { loginView, signupView } from './views/account';
import { cartView } from './views/cart';
import { catalogView } from './views/catalog';
import { orderView, ordersView } from './views/orders';
import { productView } from './views/product';
import { waitingRoomView } from './views/waiting-room';

const ROUTES: Record<string, View> = {
  '': catalogView,
  products: productView,
  cart: cartView,
  orders: ordersView,
  login: loginView,
  signup: signupView,
  wait: waitingRoomView,
};

const main = document.getElementById('main')!;
const nav = document.getElementById('account')!;
const cartLink = document.getElementById('cart-count')!;
let leave: () => void = () => undefined;

function route(): void {
  leave();
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  const view = parts[0] === 'orders' && parts[1] ? orderView : ROUTES[parts[0] ?? ''] ?? notFoundView;
  const cleanups: Array<() => void> = [];
  let left = false;
  leave = () => {
    left = true;
    cleanups.forEach((cleanup) => cleanup());
  };
  const context: ViewContext = {
    parts,
    query: new URLSearchParams(search),
    render(title, ...content) {
      if (left) return;
      const heading = h('h1', { tabindex: -1 }, title);
      main.replaceChildren(heading, ...content);
      document.title = `${title} · Surge`;
      heading.focus();
    },
    onLeave: (cleanup) => cleanups.push(cleanup),
    left: () => left,
  };
  void view(context);
}

const notFoundView: View = (view) => view.render('Page not found', h('p', {}, h('a', { href: '#/' }, 'Back to the products')));

function renderHeader(): void {
  const count = cart.count();
  cartLink.textContent = count ? `(${count})` : '';
  cartLink.setAttribute('aria-label', `${count} item${count === 1 ? '' : 's'}`);
  const email = session.email();
  nav.replaceChildren(
    ...(email
      ? [h('a', { href: '#/orders' }, 'Orders'), h('span', { class: 'who' }, email), h('button', { type: 'button', class: 'link', onclick: () => { session.end(); location.hash = '#/'; } }, 'Log out')]
      : [h('a', { href: '#/login' }, 'Log in'), h('a', { href: '#/signup' }, 'Sign up')]),
  );
}

// The skip link focuses the page instead of changing the hash (the hash is the route).
document.getElementById('skip')!.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
cart.onChange(renderHeader);
session.onChange(renderHeader);
// Another tab changed the cart or logged in/out.
window.addEventListener('storage', renderHeader);
window.addEventListener('hashchange', route);
renderHeader();
route();
