// Data access for Idempotency-Key records of POST /api/orders, scoped per user. Keys are claimed with
// the order they placed, in the statement that places it (placeOrderAtomically in ./orders), and
// deleted by the worker's upkeep once older than IDEMPOTENCY_KEY_RETENTION_SECONDS.
import type { Queryable } from '../../platform/db';

/**
 * How long a used key replays its order: 24 hours. A request with an older key is placed as a new
 * order. Clients retry within seconds to minutes; a day covers a client that retries after an outage.
 */
export const IDEMPOTENCY_KEY_RETENTION_SECONDS = 24 * 3600;

/** The stored request fingerprint and response of a used key, or undefined if the key is unused. */
export async function findIdempotentResponse<R>(
  db: Queryable,
  userId: string,
  key: string,
): Promise<{ requestHash: string; response: R } | undefined> {
  const { rows } = await db.query<{ requestHash: string; response: R }>(
    `SELECT request_hash AS "requestHash", response FROM order_idempotency_keys WHERE user_id = $1 AND key = $2`,
    [userId, key],
  );
  return rows[0];
}

/**
 * Deletes up to `limit` keys used more than `olderThanSeconds` ago (the BRIN index on created_at finds
 * the oldest pages); keys another instance is deleting are skipped. Returns how many it deleted.
 */
export async function deleteExpiredIdempotencyKeys(db: Queryable, olderThanSeconds: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM order_idempotency_keys k
      USING (SELECT user_id, key FROM order_idempotency_keys
              WHERE created_at < now() - make_interval(secs => $1)
              LIMIT $2 FOR UPDATE SKIP LOCKED) expired
      WHERE k.user_id = expired.user_id AND k.key = expired.key`,
    [olderThanSeconds, limit],
  );
  return rowCount ?? 0;
}
