// `npm run catalog -- import <file> [--set-stock] [--dry-run]`: imports a catalog file (JSON Lines,
// services/order/catalog-file.ts) into the products table through the writer, upserting by SKU
// (services/order/use-cases/import-catalog.ts). The database comes from the services' own settings:
// DATABASE_URL, or DB_WRITER_HOST + DB_SECRET_ARN (the stack's database secret; docs/OPS.md says how
// to reach a deployed writer).
import { readFile } from 'node:fs/promises';
import { ConfigError, loadDatabaseConfig } from '../services/platform/config';
import { createDatabase } from '../services/platform/db';
import { CatalogFileError, importCatalog } from '../services/order/use-cases/import-catalog';
import { parseCommandLine, processOutput, runCommand, type CommandOutput } from './cli/command';
import { progressBar, progressLine, type ProgressLine } from './cli/progress';
import { UsageError } from './cli/usage-error';

export const CATALOG_USAGE = `usage: npm run catalog -- import <file> [--set-stock] [--dry-run]

Imports <file> into the catalog through the database writer, upserting products by SKU: new SKUs are
added, existing ones get the file's name, price and currency. Running the same file again changes
nothing. Every line is checked first; a file with a bad line imports nothing and each problem is
printed with its line number. Exit 0 imported (or checked), 1 bad lines or the import failed,
2 bad arguments or database settings.

  <file>         JSON Lines, one product per line:
                 {"sku":"MUG-001","name":"Enamel mug","priceCents":1299,"currency":"USD","stock":40}
                 (currency may be left out: USD)
  --set-stock    also set the stock of existing products to the file's (default: only new products
                 get the file's stock; existing ones keep what orders have left)
  --dry-run      check the file and write nothing

Database: DATABASE_URL, or DB_WRITER_HOST, DB_SECRET_ARN (+ DB_PORT, DB_NAME, DB_CA_BUNDLE,
AWS_REGION) as the fleets use them.`;

/** Bad lines printed at most; the count says how many more there were. */
const PROBLEMS_SHOWN = 50;

export interface CatalogDependencies {
  readonly output?: CommandOutput;
  /** Where the database settings come from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: ProgressLine;
}

export function catalogCli(argv: readonly string[], deps: CatalogDependencies = {}): Promise<number> {
  const output = deps.output ?? processOutput;
  return runCommand(
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        'set-stock': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
      if (values.help) {
        output.out(CATALOG_USAGE);
        return 0;
      }
      const [command, file, ...extra] = positionals;
      if (command !== 'import') throw new UsageError(command === undefined ? 'say what to do: import <file>' : `unknown command "${command}"`);
      if (file === undefined) throw new UsageError('import needs the file to import');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);

      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
      let config;
      try {
        config = await loadDatabaseConfig(deps.env ?? process.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
      const db = createDatabase({ ...config, poolMax: 1 });
      const progress = deps.progress ?? progressLine();
      try {
        const result = await importCatalog(db, text, {
          setStock: values['set-stock'],
          dryRun: values['dry-run'],
          onProgress: (done, total) => progress.update(`importing ${file} ${progressBar(done, total, 'products')}`),
        });
        progress.done();
        output.out(
          values['dry-run']
            ? `checked ${file}: ${result.products} products, no problems (dry run: nothing written)`
            : `imported ${file}: ${result.products} products - ${result.inserted} new, ${result.updated} updated, ${result.unchanged} unchanged`,
        );
        return 0;
      } catch (err) {
        progress.done();
        if (!(err instanceof CatalogFileError)) throw err;
        for (const problem of err.problems.slice(0, PROBLEMS_SHOWN)) output.err(`${file}:${problem.line}: ${problem.message}`);
        if (err.problems.length > PROBLEMS_SHOWN) output.err(`... and ${err.problems.length - PROBLEMS_SHOWN} more bad lines`);
        output.err(`error: ${err.message}`);
        return 1;
      } finally {
        await db.close();
      }
    },
    CATALOG_USAGE,
    output,
  );
}

if (require.main === module) {
  void catalogCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
