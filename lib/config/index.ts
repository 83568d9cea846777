// The environments Surge knows, by the name given with `-c env=<name>`, and the one way to get a
// validated config for a name.
import { dev } from './dev';
import { prod } from './prod';
import type { SurgeConfig } from './types';
import { validateConfig } from './validate';

export * from './types';
export { ConfigError, isProductionLike, validateConfig } from './validate';

export const environments: Readonly<Record<string, SurgeConfig>> = { dev, prod };

/** The validated config for `envName`; throws naming the known environments when it is unknown. */
export function configFor(envName: string): SurgeConfig {
  const config = Object.hasOwn(environments, envName) ? environments[envName] : undefined;
  if (!config) {
    throw new Error(`Unknown environment ${JSON.stringify(envName)} (-c env=...): expected one of ${Object.keys(environments).join(', ')}`);
  }
  return validateConfig(config);
}
