// Use case: import a catalog file (../catalog-file.ts) through the writer, upserting by SKU.
// The policy, in order: every line is checked first, and a file with any bad line writes nothing;
// then the products are written in batches of BATCH_ROWS, each batch its own transaction, so orders
// for the products being imported wait for one batch at most, never for the whole file. A run that
// stops half way (connection lost) has written whole batches only; running the same file again
// finishes it, because the upsert is idempotent (a product that already matches is not written).
import type { Database } from '../../platform/db';
import { withTransaction } from '../../platform/db';
import { parseCatalogFile, type CatalogProblem } from '../catalog-file';
import { upsertProducts } from '../data/products';

/** Products per transaction. */
export const BATCH_ROWS = 500;

export interface CatalogImportOptions {
  /**
   * Also overwrite the stock of products that exist already. Off, an existing product keeps its
   * stock (orders have taken from it since it was imported) and only new products get the file's.
   * @default false
   */
  readonly setStock?: boolean;
  /** Check the file only; write nothing. @default false */
  readonly dryRun?: boolean;
  /** Told after each batch is committed: products written so far, and in all. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CatalogImportResult {
  /** Products in the file. */
  readonly products: number;
  readonly inserted: number;
  readonly updated: number;
  /** Products that already matched the file (nothing written). */
  readonly unchanged: number;
}

/** The file had bad lines; nothing was written. */
export class CatalogFileError extends Error {
  constructor(readonly problems: readonly CatalogProblem[]) {
    super(`the catalog file has ${problems.length} bad line${problems.length === 1 ? '' : 's'}; nothing was imported`);
    this.name = 'CatalogFileError';
  }
}

export async function importCatalog(db: Pick<Database, 'writer'>, fileText: string, options: CatalogImportOptions = {}): Promise<CatalogImportResult> {
  const { rows, problems } = parseCatalogFile(fileText);
  if (problems.length > 0) throw new CatalogFileError(problems);
  let inserted = 0;
  let updated = 0;
  if (!options.dryRun) {
    for (let first = 0; first < rows.length; first += BATCH_ROWS) {
      const batch = rows.slice(first, first + BATCH_ROWS);
      const written = await withTransaction(db.writer, (tx) => upsertProducts(tx, batch, options.setStock ?? false));
      inserted += written.inserted;
      updated += written.updated;
      options.onProgress?.(first + batch.length, rows.length);
    }
  }
  return { products: rows.length, inserted, updated, unchanged: options.dryRun ? 0 : rows.length - inserted - updated };
}
