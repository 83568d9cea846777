// Options every command shares: which environment, and where its stack lives.
import { configFor, type SurgeConfig } from '../../lib/config';
import { stackName, WAF_STACK_REGION, wafStackName } from '../../lib/stack/outputs';
import type { StackRef } from '../stack/outputs';
import { UsageError } from './usage-error';

export const ENVIRONMENT_OPTIONS = {
  env: { type: 'string' },
  region: { type: 'string' },
  stack: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const ENVIRONMENT_USAGE = [
  '  --env <name>             environment whose config and stack to use (required), e.g. prod',
  '  --region <region>        AWS region of the stack (default: the config\'s region)',
  '  --stack <name>           regional stack whose outputs name the resources (default: Surge-<env>)',
].join('\n');

export interface Environment {
  readonly config: SurgeConfig;
  readonly region: string;
  /** The regional stack: every output but the web ACL's. */
  readonly appStack: StackRef;
  /** The us-east-1 stack emitting the web ACL's ARN. */
  readonly wafStack: StackRef;
}

export function resolveEnvironment(values: { env?: string; region?: string; stack?: string }): Environment {
  if (values.env === undefined || values.env === '') throw new UsageError('--env is required (e.g. --env prod)');
  let config: SurgeConfig;
  try {
    config = configFor(values.env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const region = values.region ?? config.region;
  return {
    config,
    region,
    appStack: { name: values.stack ?? stackName(config.envName), region },
    wafStack: { name: wafStackName(config.envName), region: WAF_STACK_REGION },
  };
}
