// Sign up and log in. Signing up logs the shopper in straight away; both go back to where the
// shopper came from (?next=...), else to the catalog.
import { api } from '../api';
import { h } from '../dom';
import { session } from '../session';
import { errorBox, say, type View } from '../view';

interface Token { token: string; expiresAt: string }

async function logIn(email: string, password: string): Promise<void> {
  const { token, expiresAt } = await api<Token>('/api/users/login', { method: 'POST', body: { email, password } });
  session.start({ token, expiresAt, email });
}

function field(id: string, label: string, attributes: Record<string, string | number | boolean>): HTMLElement {
  return h('p', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id, required: true, ...attributes }));
}

function accountForm(view: Parameters<View>[0], kind: 'signup' | 'login'): void {
  const errors = h('div', { 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit' }, kind === 'signup' ? 'Create account' : 'Log in');
  const form = h(
    'form',
    { class: 'account', novalidate: false, onsubmit: async (event: Event) => {
      event.preventDefault();
      const data = new FormData(form);
      const email = String(data.get('email'));
      const password = String(data.get('password'));
      submit.disabled = true;
      say(errors);
      try {
        if (kind === 'signup') await api('/api/users', { method: 'POST', body: { email, password, name: String(data.get('name')) } });
        await logIn(email, password);
        location.hash = view.query.get('next') ?? '#/';
      } catch (err) {
        say(errors, errorBox(err));
        submit.disabled = false;
      }
    } },
    kind === 'signup' ? field('name', 'Name', { autocomplete: 'name', maxlength: 100 }) : null,
    field('email', 'Email', { type: 'email', autocomplete: 'email', maxlength: 254 }),
    field('password', kind === 'signup' ? 'Password (at least 8 characters)' : 'Password', {
      type: 'password',
      autocomplete: kind === 'signup' ? 'new-password' : 'current-password',
      minlength: kind === 'signup' ? 8 : 1,
      maxlength: 128,
    }),
    submit,
    errors,
  );
  const next = view.query.get('next');
  const other = kind === 'signup'
    ? h('p', {}, 'Already have an account? ', h('a', { href: `#/login${next ? `?next=${encodeURIComponent(next)}` : ''}` }, 'Log in'))
    : h('p', {}, 'New here? ', h('a', { href: `#/signup${next ? `?next=${encodeURIComponent(next)}` : ''}` }, 'Create an account'));
  view.render(kind === 'signup' ? 'Create an account' : 'Log in', form, other);
}

export const signupView: View = (view) => accountForm(view, 'signup');
export const loginView: View = (view) => accountForm(view, 'login');
