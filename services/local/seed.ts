// `npm run seed [count]`: loads the demo catalog (default 10,000 products with stock) into the
// database named by DATABASE_URL (or the DB_* variables), after applying pending migrations.
// Seeding is idempotent: existing SKUs keep their stock.
import { loadDatabaseConfig } from '../platform/config';
import { createDatabase } from '../platform/db';
import { migrate } from '../platform/migrate';
import { seedCatalog } from '../order/seed';

async function main(): Promise<void> {
  const arg = process.argv[2];
  const count = arg === undefined ? 10_000 : Number(arg);
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a whole number, got "${arg}"`);
  const db = createDatabase(await loadDatabaseConfig());
  try {
    await migrate(db.writer);
    const { inserted } = await seedCatalog(db, count);
    console.log(`seeded ${inserted} new products (${count} requested; existing SKUs are left as they are)`);
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
