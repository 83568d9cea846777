// The dependency rules (.dependency-cruiser.cjs) hold for the repository, and they bite: a small tree
// that breaks each rule once is refused with that rule's name. dependency-cruiser runs as its CLI
// (it is ESM-only; jest runs CommonJS here).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
/** Every TypeScript root of the project. */
const CHECKED = ['bin', 'lib', 'services', 'perf', 'ops', 'scripts', 'web', 'test'];

async function cruise(cwd: string, folders: string[]): Promise<{ failed: boolean; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--config', CONFIG, '--output-type', 'err', ...folders], { cwd });
    return { failed: false, output: stdout };
  } catch (err) {
    const { stdout, stderr } = err as { stdout: string; stderr: string };
    return { failed: true, output: `${stdout}${stderr}` };
  }
}

it('the repository breaks no dependency rule', async () => {
  const { failed, output } = await cruise(ROOT, CHECKED);
  expect(output).toContain('no dependency violations found');
  expect(failed).toBe(false);
}, 60_000);

describe('a tree that breaks each rule once', () => {
  let dir: string;
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
    // payment reaches into order's folder
    'services/order/data/orders.ts': 'export const orders = 1;\n',
    'services/payment/use-cases/charge.ts': "import { orders } from '../../order/data/orders';\nexport const charge = orders;\n",
    // platform depends on a service
    'services/platform/app.ts': "import { charge } from '../payment/use-cases/charge';\nexport const app = charge;\n",
    // the contracts import a service
    'services/contracts/events.ts': "import { orders } from '../order/data/orders';\nexport const events = orders;\n",
    // product code imports test support
    'services/test-support/testing.ts': 'export const helper = 1;\n',
    'services/user/main.ts': "import { helper } from '../test-support/testing';\nexport const main = helper;\n",
    // a circle inside one service
    'services/user/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
    'services/user/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    // allowed: a test imports test support, a composition root imports two services
    'services/user/test/a.test.ts': "import { helper } from '../../test-support/testing';\nexport const t = helper;\n",
    'services/worker/main.ts': "import { charge } from '../payment/use-cases/charge';\nimport { orders } from '../order/data/orders';\nexport const w = [charge, orders];\n",
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'surge-deps-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused, naming every rule it breaks and nothing it may do', async () => {
    const { failed, output } = await cruise(dir, ['services']);
    expect(failed).toBe(true);
    const broken = (rule: string) => output.split('\n').filter((line) => line.includes(`error ${rule}:`)).map((line) => line.split(': ')[1]?.trim());
    expect(broken('no-cross-service-imports')).toEqual(['services/payment/use-cases/charge.ts → services/order/data/orders.ts']);
    expect(broken('platform-imports-no-service')).toEqual(['services/platform/app.ts → services/payment/use-cases/charge.ts']);
    expect(broken('contracts-stand-alone')).toEqual(['services/contracts/events.ts → services/order/data/orders.ts']);
    expect(broken('no-test-support-in-product')).toEqual(['services/user/main.ts → services/test-support/testing.ts']);
    expect(output).toMatch(/error no-circular: services\/user\/(a|b)\.ts →\s+services\/user\/(a|b)\.ts →\s+services\/user\/\1\.ts/);
    expect(output).not.toContain('services/worker/main.ts →');
    expect(output).not.toContain('services/user/test/a.test.ts →');
  }, 60_000);
});
