// Builds the storefront (web/src) with esbuild into web/dist/<input hash>/: index.html plus assets/
// whose names carry a hash of their content (safe to cache for a year), so a new build never
// overwrites what a browser or CloudFront may still hold. Built on demand by everything that needs
// it (the CDK app at synth, `npm start`, the browser tests); `npm run build:web` prints the folder.
// The folder is keyed by a hash of the inputs, so parallel synths share one build.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildSync, version as esbuildVersion, type BuildOptions } from 'esbuild';

const WEB_DIR = __dirname;
const SOURCE_DIR = join(WEB_DIR, 'src');
const DIST_DIR = join(WEB_DIR, 'dist');
/** Folder of the hashed assets inside a build, and their URL path. */
export const ASSETS_DIR = 'assets';
export const INDEX_HTML = 'index.html';

/**
 * Cache-Control of the storefront's files, the same from S3 (lib/construct/storefront.ts) and from
 * `npm start`: hashed assets never change under their name, so caches keep them a year; index.html
 * names the current assets, so every cache asks again (revalidates) before using it.
 */
export const CACHE_CONTROL = {
  asset: 'public, max-age=31536000, immutable',
  index: 'no-cache',
} as const;

const BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  format: 'esm',
  // Browsers from 2021-2022 on: ES modules, crypto.randomUUID, Intl currency formatting.
  target: ['chrome100', 'firefox100', 'safari15.4', 'edge100'],
  entryNames: '[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
};

/** Builds (or finds) the storefront and returns its folder: index.html and assets/. */
export function buildStorefront(): string {
  const dir = join(DIST_DIR, inputHash());
  if (existsSync(join(dir, INDEX_HTML))) return dir;

  // Build next to the final place and rename, so a parallel build never sees half a folder.
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const result = buildSync({
    ...BUILD_OPTIONS,
    entryPoints: [join(SOURCE_DIR, 'main.ts')],
    outdir: join(staging, ASSETS_DIR),
    metafile: true,
  });
  const outputs = Object.keys(result.metafile!.outputs).map((file) => relative(staging, file).split('\\').join('/'));
  const script = outputs.find((file) => file.endsWith('.js'));
  const style = outputs.find((file) => file.endsWith('.css'));
  if (!script || !style) throw new Error(`storefront build produced ${outputs.join(', ')}: expected one .js and one .css`);
  const html = readFileSync(join(SOURCE_DIR, INDEX_HTML), 'utf8')
    .replace('<!-- styles -->', `<link rel="stylesheet" href="/${style}">`)
    .replace('<!-- scripts -->', `<script type="module" src="/${script}"></script>`);
  writeFileSync(join(staging, INDEX_HTML), html);
  try {
    renameSync(staging, dir);
  } catch (err) {
    // Another process won the race with identical content.
    if (!existsSync(join(dir, INDEX_HTML))) throw err;
    rmSync(staging, { recursive: true, force: true });
  }
  removeOldBuilds(dir);
  return dir;
}

/** Builds of older sources are never used again. */
function removeOldBuilds(current: string): void {
  for (const name of readdirSync(DIST_DIR)) {
    const path = join(DIST_DIR, name);
    if (path !== current && !name.endsWith('.tmp')) rmSync(path, { recursive: true, force: true });
  }
}

function inputHash(): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ esbuildVersion, BUILD_OPTIONS }));
  for (const file of sourceFiles(SOURCE_DIR)) {
    hash.update(relative(WEB_DIR, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sourceFiles(path) : [path];
    });
}

if (require.main === module) {
  mkdirSync(DIST_DIR, { recursive: true });
  const started = Date.now();
  const dir = buildStorefront();
  console.log(`storefront built in ${relative(process.cwd(), dir) || '.'} (${Date.now() - started} ms)`);
}
