// README.md's layout section against the tree: every folder at the top and under services/ is listed,
// and every listed folder exists.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const block = readme.split('## Layout\n')[1].split('```\n')[1];

/** Folders the layout lists, as paths: `services/` then its indented children `services/order/`. */
function listed(): string[] {
  const paths: string[] = [];
  let parent = '';
  for (const line of block.split('\n')) {
    const entry = /^( *)([\w.-]+\/)\s/.exec(line);
    if (!entry) continue;
    if (entry[1].length === 0) parent = entry[2];
    paths.push(entry[1].length === 0 ? entry[2] : parent + entry[2]);
  }
  return paths.sort();
}

/** Folders in the tree: the top level (not hidden, not installed or generated) and services/. */
function folders(): string[] {
  const dirs = (dir: string) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !['node_modules', 'cdk.out', 'dist', 'coverage'].includes(e.name))
      .map((e) => `${dir}${e.name}/`);
  return [...dirs(''), ...dirs('services/')].sort();
}

it('lists exactly the folders of the tree, each with what it holds', () => {
  expect(listed()).toEqual(folders());
  for (const line of block.split('\n').filter((l) => l.trim() !== '')) expect(line).toMatch(/\/\s{2,}\S/);
});
