// Use-case tests for catalog reads: keyset pages cover the catalog exactly once, `q` filters by name,
// and a forged cursor is the caller's error.
import { AppError } from '../../platform/errors';
import { createTestDatabase } from '../../test-support/testing';
import { browseProducts } from '../use-cases/read-catalog';
import { addProduct } from './fixtures';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
const productIds: string[] = [];
beforeAll(async () => {
  testDb = await createTestDatabase();
  for (let i = 0; i < 25; i++) {
    const name = i % 5 === 0 ? `Solar 100% Lamp ${i}` : `Kettle ${i}`;
    productIds.push((await addProduct(testDb.db.writer, { name })).id);
  }
});
afterAll(async () => {
  await testDb?.drop();
});

describe('browseProducts', () => {
  it('walks the whole catalog in keyset pages, each product exactly once', async () => {
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await browseProducts(testDb, { limit: 10, cursor });
      pageSizes.push(page.items.length);
      seen.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pageSizes).toEqual([10, 10, 5]);
    expect(seen).toEqual([...productIds].sort());
  });

  it('filters by a case-insensitive name substring, treating % and _ literally', async () => {
    const page = await browseProducts(testDb, { limit: 100, q: 'sOLAR 100%' });
    expect(page.items.map((p) => p.name).sort()).toEqual(
      ['Solar 100% Lamp 0', 'Solar 100% Lamp 10', 'Solar 100% Lamp 15', 'Solar 100% Lamp 20', 'Solar 100% Lamp 5'],
    );
    expect(page.nextCursor).toBeNull();
    expect((await browseProducts(testDb, { limit: 100, q: '_' })).items).toEqual([]);
  });

  it('rejects a cursor it did not issue with 400', async () => {
    for (const cursor of ['not-a-cursor', Buffer.from('{"id":"1; DROP TABLE products"}').toString('base64url')]) {
      const error = await browseProducts(testDb, { limit: 10, cursor }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ statusCode: 400, message: expect.stringMatching(/cursor/) });
    }
  });
});
