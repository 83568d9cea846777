// What ships: the source files esbuild puts into each bundle. Test helpers and embedded engines
// (services/test-support) and test files never do, and a service fleet carries its own service, the
// platform and the event contracts, never another service's code.
import { bundleInputs } from '../../lib/deploy/bundle';

const SERVICES = ['user', 'order', 'payment'] as const;
const surgeSources = (inputs: string[]) => inputs.filter((path) => !path.startsWith('node_modules/'));

describe.each([...SERVICES, 'worker', 'migration-step'] as const)('the %s bundle', (name) => {
  const sources = surgeSources(bundleInputs(name));

  it('holds no test support and no test file', () => {
    expect(sources.length).toBeGreaterThan(3);
    expect(sources.filter((path) => path.startsWith('services/test-support/') || /(^|\/)test\//.test(path))).toEqual([]);
  });

  if ((SERVICES as readonly string[]).includes(name)) {
    it('holds its own service, the platform and the contracts, and no other service', () => {
      const folders = new Set(sources.map((path) => path.split('/').slice(0, 2).join('/')));
      expect(folders.has(`services/${name}`)).toBe(true);
      expect(folders.has('services/platform')).toBe(true);
      expect([...folders].filter((folder) => !['services/platform', 'services/contracts', `services/${name}`].includes(folder))).toEqual([]);
    });
  }
});
