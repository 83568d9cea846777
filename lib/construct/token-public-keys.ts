// Token public keys: an SSM parameter holding the public half of the login token keys (a JWKS) for the
// fleets that only verify tokens, so only the fleet that signs reads the signing key's secret. Public
// data needs no secret (and a standard parameter costs nothing, where a secret costs $0.40 a month).
// A Lambda bundled from services/platform/token-public-keys.ts, run by a CDK trigger during deployment,
// derives the keys from the signing secret's current and previous values and writes them; fleets passed
// to `runBefore` are created or updated only after it succeeded, so none starts before the keys exist.
// `npm run rotate-token-key` keeps the parameter current between deployments.
import { createHash } from 'node:crypto';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct, type IConstruct } from 'constructs';
import { deploymentStepFunction } from './deployment-step';

export interface TokenPublicKeysProps {
  /** The generated secret string the signing key is derived from (current and AWSPREVIOUS values). */
  readonly signingKey: secretsmanager.ISecret;
  /** Bundle directory with `app/main.js` exporting the publisher's handler (lib/deploy/bundle.ts). */
  readonly bundleDirectory: string;
  /** Handler inside the bundle, e.g. `app/main.handler`. */
  readonly handler: string;
  /** Name of the parameter, e.g. `/surge/dev/token-public-keys` (`npm run rotate-token-key` needs it). */
  readonly parameterName: string;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

export class TokenPublicKeys extends Construct {
  /** The public keys, JSON `{ "keys": [JWK, ...] }`, current key first; the verifying fleets read it. */
  public readonly parameter: ssm.StringParameter;
  /** Derives the public keys from the signing secret and writes them to `parameter`. */
  public readonly function: lambda.Function;
  /** Runs the function during deployment; what needs the keys depends on it. */
  public readonly trigger: triggers.Trigger;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TokenPublicKeysProps) {
    super(scope, id);
    // An empty key set until the deployment step writes the keys: a fleet reading it earlier would
    // stop at start saying the key set has no keys.
    const definition = { parameterName: props.parameterName, stringValue: JSON.stringify({ keys: [] }), description: 'Surge: public keys verifying login tokens, written by the deployment and npm run rotate-token-key' };
    this.parameter = new ssm.StringParameter(this, 'Parameter', { ...definition, tier: ssm.ParameterTier.STANDARD });

    // Outside the VPC: it talks to Secrets Manager and SSM only, through their public endpoints.
    ({ logGroup: this.logGroup, function: this.function } = deploymentStepFunction(this, {
      description: 'Surge: publishes the public half of the login token keys during deployment, before the verifying fleets roll',
      stepName: 'the token key publisher',
      bundleDirectory: props.bundleDirectory,
      handler: props.handler,
      environment: {
        TOKEN_SIGNING_SECRET_ARN: props.signingKey.secretArn,
        TOKEN_PUBLIC_KEYS_PARAMETER: this.parameter.parameterName,
        // CloudFormation writes the empty key set again whenever the parameter's definition changes;
        // its fingerprint here changes the function with it, so the trigger publishes again afterwards.
        TOKEN_PUBLIC_KEYS_DEFINITION: createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16),
      },
      timeout: Duration.minutes(1),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    }));
    props.signingKey.grantRead(this.function);
    this.parameter.grantWrite(this.function);

    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: this.function,
      // Run again whenever the function changes: a new publisher bundle, another signing secret, or a
      // new parameter definition.
      executeOnHandlerChange: true,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      timeout: Duration.minutes(1),
      executeAfter: [props.signingKey as unknown as Construct, this.parameter],
    });
  }

  /** Makes each scope (an Auto Scaling group) wait for the published keys before it is created or updated. */
  public runBefore(...scopes: IConstruct[]): void {
    this.trigger.executeBefore(...(scopes as Construct[]));
  }
}
