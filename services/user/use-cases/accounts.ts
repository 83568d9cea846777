// Use cases of the user service: register, log in, read one's profile.
import type { TokenService } from '../../platform/auth';
import type { Database } from '../../platform/db';
import { conflict, notFound, unauthorized } from '../../platform/errors';
import { findUserByEmail, findUserById, insertUser, updatePasswordHash, type UserRow } from '../data/users';
import type { PasswordHasher } from '../passwords';

/** What the API shows of a user: never the password hash. */
export interface Profile {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

const BAD_CREDENTIALS = 'Email or password is incorrect';

function toProfile(user: UserRow): Profile {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt.toISOString() };
}

export async function registerUser(
  deps: { db: Pick<Database, 'writer'>; passwords: PasswordHasher },
  input: { email: string; password: string; name: string },
): Promise<Profile> {
  const passwordHash = await deps.passwords.hash(input.password);
  try {
    const user = await insertUser(deps.db.writer, { email: input.email.toLowerCase(), name: input.name, passwordHash });
    return toProfile(user);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict('An account with this email already exists');
    throw err;
  }
}

/**
 * Issues a token; unknown email and wrong password give the same 401 after the same work. A hash made
 * with older scrypt parameters is replaced after a good login, so every account reaches today's cost.
 */
export async function logIn(
  deps: { db: Pick<Database, 'writer'>; tokens: TokenService; passwords: PasswordHasher },
  input: { email: string; password: string },
): Promise<{ token: string; expiresAt: string }> {
  // The writer, so an account created a moment ago can log in even if the replica lags.
  const user = await findUserByEmail(deps.db.writer, input.email);
  const { passwords } = deps;
  const matches = await passwords.verify(input.password, user?.passwordHash ?? (await passwords.unknownUserHash));
  if (!user || !matches) throw unauthorized(BAD_CREDENTIALS);
  if (passwords.needsRehash(user.passwordHash)) {
    await updatePasswordHash(deps.db.writer, user.id, user.passwordHash, await passwords.hash(input.password));
  }
  return deps.tokens.issue(user.id);
}

export async function getProfile(db: Pick<Database, 'writer'>, userId: string): Promise<Profile> {
  const user = await findUserById(db.writer, userId);
  if (!user) throw notFound('The user of this token no longer exists');
  return toProfile(user);
}
