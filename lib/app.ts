// Builds the Surge CDK app for the environment named by the `env` context value (default `dev`):
// the us-east-1 WAF stack and the regional stack. bin/surge.ts and the tests both call createApp,
// so the tests exercise exactly what `cdk synth` produces.
import { App, Tags } from 'aws-cdk-lib';
import { configFor, type SurgeConfig } from './config';
import { stackName, wafStackName } from './stack/outputs';
import { SurgeStack } from './stack/surge-stack';
import { SurgeWafStack } from './stack/surge-waf-stack';

export interface SurgeApp {
  readonly app: App;
  readonly config: SurgeConfig;
  readonly stack: SurgeStack;
  readonly wafStack: SurgeWafStack;
}

export interface CreateAppOptions {
  /**
   * Account used when the config names none (bin passes CDK_DEFAULT_ACCOUNT).
   * @default - environment-agnostic account
   */
  readonly defaultAccount?: string;
}

/** `context` is merged over what the CDK CLI passes (cdk.json and `-c` values). */
export function createApp(context: Record<string, unknown> = {}, options: CreateAppOptions = {}): SurgeApp {
  const app = new App({ context });
  const envName = String(app.node.tryGetContext('env') ?? 'dev');
  const config = configFor(envName);
  const account = config.account ?? options.defaultAccount;

  const wafStack = new SurgeWafStack(app, wafStackName(config.envName), {
    config,
    env: { account },
    description: `Surge ${config.envName}: CloudFront web ACL (us-east-1)`,
    terminationProtection: config.retainData,
  });
  const stack = new SurgeStack(app, stackName(config.envName), {
    config,
    env: { account, region: config.region },
    webAclArn: wafStack.webAcl.webAclArn,
    description: `Surge ${config.envName}: sale-day e-commerce stack`,
    // Environments that retain data also refuse `cdk destroy` until protection is lifted.
    terminationProtection: config.retainData,
  });

  Tags.of(app).add('project', 'surge');
  Tags.of(app).add('environment', config.envName);
  return { app, config, stack, wafStack };
}
