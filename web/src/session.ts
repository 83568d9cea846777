// The signed-in shopper: the access token and its expiry in localStorage (the API is the only
// judge of the token; an expired one is dropped before it is sent).
const KEY = 'surge.session';

interface Session { token: string; expiresAt: string; email: string }

const listeners = new Set<() => void>();

function read(): Session | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    if (!value || Date.parse(value.expiresAt) <= Date.now()) return undefined;
    return value;
  } catch {
    return undefined;
  }
}

export const session = {
  token: (): string | undefined => read()?.token,
  email: (): string | undefined => read()?.email,
  start(value: Session): void {
    localStorage.setItem(KEY, JSON.stringify(value));
    listeners.forEach((listener) => listener());
  },
  end(): void {
    localStorage.removeItem(KEY);
    listeners.forEach((listener) => listener());
  },
  onChange(listener: () => void): void {
    listeners.add(listener);
  },
};
