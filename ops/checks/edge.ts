// Edge readiness: the CloudFront distribution has finished deploying its latest configuration.
import { GetDistributionCommand } from '@aws-sdk/client-cloudfront';
import { StackOutputs } from '../../lib/stack/outputs';
import { awsCall } from '../aws/errors';
import { result, type CheckContext, type CheckGroup, type CheckResult } from './check';

export const edgeChecks: CheckGroup = {
  name: 'edge',
  async run(context: CheckContext): Promise<CheckResult[]> {
    const distributionId = context.outputs.get(StackOutputs.distributionId);
    const response = await awsCall('cloudfront:GetDistribution', () =>
      context.clients.cloudFront.send(new GetDistributionCommand({ Id: distributionId })),
    );
    const distribution = response.Distribution;
    const enabled = distribution?.DistributionConfig?.Enabled;
    return [
      result('cloudfront status', 'Deployed', distribution?.Status ?? 'not found', distribution?.Status === 'Deployed'),
      result('cloudfront enabled', 'true', String(enabled ?? 'unknown'), enabled === true),
    ];
  },
};
