// Data access for users: parameterised SQL only. Emails are stored in lower case and unique.
import type { Queryable } from '../../platform/db';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  createdAt: Date;
}

const COLUMNS = 'id, email, name, password_hash AS "passwordHash", created_at AS "createdAt"';

/** Inserts a user; rejects with PostgreSQL error 23505 if the email is taken. */
export async function insertUser(db: Queryable, user: { email: string; name: string; passwordHash: string }): Promise<UserRow> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
    [user.email, user.name, user.passwordHash],
  );
  return rows[0];
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email]);
  return rows[0];
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0];
}

/** Replaces a password hash, only if it is still the one read (a concurrent change wins). */
export async function updatePasswordHash(db: Queryable, id: string, previous: string, next: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [id, previous, next]);
}
