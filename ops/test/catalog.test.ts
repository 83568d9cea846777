// `npm run catalog -- import <file>` end to end against the real PostgreSQL (loopback): what it prints,
// its exit codes, its progress bar, and the database settings it takes from the environment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../../services/test-support/testing';
import { catalogCli } from '../catalog';
import { progressBar } from '../cli/progress';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
beforeAll(async () => {
  testDb = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'surge-catalog-'));
}, 30_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await testDb?.drop();
});

function run(argv: string[], env: NodeJS.ProcessEnv = { DATABASE_URL: testDb.url }) {
  const out: string[] = [];
  const err: string[] = [];
  const shown: string[] = [];
  const progress = { update: (text: string) => shown.push(text), done: () => undefined };
  return catalogCli(argv, { env, progress, output: { out: (t) => out.push(t), err: (t) => err.push(t) } }).then((code) => ({ code, out, err, shown }));
}

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

describe('npm run catalog -- import', () => {
  it('imports a file, shows a progress bar, and changes nothing the second time', async () => {
    const path = file('ok.jsonl', [
      '{"sku":"CLI-1","name":"Kettle","priceCents":5499,"stock":20}',
      '{"sku":"CLI-2","name":"Mug","priceCents":1299,"currency":"USD","stock":40}',
    ]);
    const first = await run(['import', path]);
    expect(first).toMatchObject({ code: 0, err: [], out: [`imported ${path}: 2 products - 2 new, 0 updated, 0 unchanged`] });
    expect(first.shown).toEqual([`importing ${path} [##############################] 100% 2/2 products`]);
    expect(await run(['import', path])).toMatchObject({ code: 0, out: [`imported ${path}: 2 products - 0 new, 0 updated, 2 unchanged`] });
    const { rows } = await testDb.db.writer.query(`SELECT sku FROM products WHERE sku LIKE 'CLI-%' ORDER BY sku`);
    expect(rows).toEqual([{ sku: 'CLI-1' }, { sku: 'CLI-2' }]);
  });

  it('prints each bad line as file:line: field problem, exits 1 and imports nothing', async () => {
    const path = file('bad.jsonl', [
      '{"sku":"CLIBAD-1","name":"Fine","priceCents":100,"stock":1}',
      '{"sku":"CLIBAD-2","name":"Fine","priceCents":100,"stock":-3}',
      '{"sku":"CLIBAD-3","name":"Fine","priceCents":100,"stock":1,"colour":"red"}',
    ]);
    const result = await run(['import', path]);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([
      `${path}:2: stock must be a whole number from 0 to 2147483647, got -3`,
      `${path}:3: colour is not a field (fields: sku, name, priceCents, currency, stock)`,
      'error: the catalog file has 2 bad lines; nothing was imported',
    ]);
    expect((await testDb.db.writer.query(`SELECT 1 FROM products WHERE sku LIKE 'CLIBAD-%'`)).rowCount).toBe(0);
  });

  it('checks without writing on --dry-run', async () => {
    const path = file('dry.jsonl', ['{"sku":"CLIDRY-1","name":"Lamp","priceCents":100,"stock":1}']);
    expect(await run(['import', path, '--dry-run'])).toMatchObject({ code: 0, out: [`checked ${path}: 1 products, no problems (dry run: nothing written)`] });
    expect((await testDb.db.writer.query(`SELECT 1 FROM products WHERE sku = 'CLIDRY-1'`)).rowCount).toBe(0);
  });

  it.each([
    ['no command', [], undefined, /error: say what to do: import <file>/],
    ['an unknown command', ['export', 'x'], undefined, /error: unknown command "export"/],
    ['no file', ['import'], undefined, /error: import needs the file to import/],
    ['a missing file', ['import', '/nonexistent/catalog.jsonl'], undefined, /error: cannot read \/nonexistent\/catalog.jsonl: ENOENT/],
    ['no database settings', ['import', 'FILE'], {}, /error: DATABASE_URL: is required \(or DB_WRITER_HOST with DB_AUTH=iam or DB_SECRET_ARN on AWS\)/],
    ['an unknown flag', ['import', 'FILE', '--force'], undefined, /error: Unknown option '--force'/],
  ])('exits 2 with the usage for %s', async (_label, argv, env, message) => {
    const path = file('any.jsonl', ['{"sku":"CLIUSE-1","name":"Lamp","priceCents":100,"stock":1}']);
    const result = await run(
      argv.map((a) => (a === 'FILE' ? path : a)),
      env as NodeJS.ProcessEnv | undefined,
    );
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toMatch(message);
    expect(result.err.join('\n')).toMatch(/usage: npm run catalog -- import <file>/);
  });
});

test('the progress bar fills with the share done', () => {
  expect(progressBar(0, 4, 'products', 8)).toBe('[........]   0% 0/4 products');
  expect(progressBar(1, 4, 'products', 8)).toBe('[##......]  25% 1/4 products');
  expect(progressBar(4, 4, 'products', 8)).toBe('[########] 100% 4/4 products');
  expect(progressBar(0, 0, 'products', 8)).toBe('[########] 100% 0/0 products');
});
