// Reads the deployed stacks' CloudFormation outputs, the tools' only way of finding resources.
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { awsCall, errorCode, OpsError } from '../aws/errors';

/** A deployed stack: its name and the region it lives in. */
export interface StackRef {
  readonly name: string;
  readonly region: string;
}

/** Output values by key, merged over the stacks read, plus which stacks those were for error messages. */
export class DeployedOutputs {
  constructor(
    private readonly values: ReadonlyMap<string, string>,
    /** The stacks read, as `name (region)`. */
    readonly searched: readonly string[],
  ) {}

  /** The value of output `key`; throws an OpsError naming the key and the stacks searched. */
  get(key: string): string {
    const value = this.values.get(key);
    if (value === undefined || value === '') {
      throw new OpsError(
        `stack output ${key} not found in ${this.searched.join(', ')}; ` +
          'deploy a version of the stack that emits it (see lib/stack/outputs.ts)',
      );
    }
    return value;
  }
}

/** Reads the outputs of every stack; a later stack's key wins over an earlier one's. */
export async function readDeployedOutputs(
  cloudFormationIn: (region: string) => CloudFormationClient,
  stacks: readonly StackRef[],
): Promise<DeployedOutputs> {
  const values = new Map<string, string>();
  for (const { name: stackName, region } of stacks) {
    const response = await awsCall('cloudformation:DescribeStacks', async () => {
      try {
        return await cloudFormationIn(region).send(new DescribeStacksCommand({ StackName: stackName }));
      } catch (error) {
        // CloudFormation reports an unknown stack as a ValidationError, not a 404.
        if (errorCode(error) === 'ValidationError' && /does not exist/.test((error as Error).message)) {
          throw new OpsError(
            `stack ${stackName} does not exist in ${region} in this account; check --env, --region and --stack`,
          );
        }
        throw error;
      }
    });
    for (const output of response.Stacks?.[0]?.Outputs ?? []) {
      if (output.OutputKey !== undefined && output.OutputValue !== undefined) {
        values.set(output.OutputKey, output.OutputValue);
      }
    }
  }
  return new DeployedOutputs(values, stacks.map((s) => `${s.name} (${s.region})`));
}
