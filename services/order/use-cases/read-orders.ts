// Use cases: a buyer reads their own orders. Both read from the WRITER pool: an order is read right
// after it is placed (read-your-writes), and these per-user reads are few next to catalog reads, so
// the replica's lag is not worth working around.
import type { Database } from '../../platform/db';
import { decodeCursor, encodeCursor, INTEGER_PATTERN, UUID_PATTERN } from '../cursor';
import { findOrderOfUser, listOrdersOfUser, type Order } from '../data/orders';

export async function getOrder(db: Pick<Database, 'writer'>, userId: string, orderId: string): Promise<Order | null> {
  return findOrderOfUser(db.writer, orderId, userId);
}

export async function listMyOrders(
  db: Pick<Database, 'writer'>,
  userId: string,
  query: { limit: number; cursor?: string },
): Promise<{ items: Order[]; nextCursor: string | null }> {
  const after =
    query.cursor === undefined
      ? undefined
      : decodeCursor(query.cursor, { createdAtMicros: INTEGER_PATTERN, id: UUID_PATTERN });
  const rows = await listOrdersOfUser(db.writer, userId, { limit: query.limit + 1, after });
  const page = rows.slice(0, query.limit);
  const nextCursor = rows.length > query.limit ? encodeCursor({ ...page[page.length - 1].position }) : null;
  return { items: page.map((row) => row.order), nextCursor };
}
