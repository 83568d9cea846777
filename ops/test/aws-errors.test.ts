import { awsCall, explainAwsError, OpsError } from '../aws/errors';
import { awsError } from './support/aws-error';

test.each(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError'])(
  '%s becomes "missing permission <action>"',
  async (code) => {
    const failure = awsCall('sqs:StartMessageMoveTask', () => Promise.reject(awsError(code)));
    await expect(failure).rejects.toThrow(new OpsError(`missing permission sqs:StartMessageMoveTask (AWS said ${code}); see docs/ops-iam-policy.json`));
  },
);

test.each(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled'])(
  '%s names the throttled action',
  (code) => {
    const explained = explainAwsError('autoscaling:DescribeScheduledActions', awsError(code)) as OpsError;
    expect(explained).toBeInstanceOf(OpsError);
    expect(explained.exitCode).toBe(3);
    expect(explained.message).toMatch(new RegExp(`^AWS throttled autoscaling:DescribeScheduledActions \\(${code}\\)`));
  },
);

test('missing or expired credentials say so instead of blaming permissions', () => {
  const explained = explainAwsError('cloudformation:DescribeStacks', awsError('ExpiredToken', 'The security token included in the request is expired'));
  expect((explained as Error).message).toBe(
    'no valid AWS credentials for cloudformation:DescribeStacks (ExpiredToken): The security token included in the request is expired',
  );
});

test('other errors pass through unchanged', async () => {
  const notFound = awsError('ReplicationGroupNotFoundFault');
  expect(explainAwsError('elasticache:DescribeReplicationGroups', notFound)).toBe(notFound);
  await expect(awsCall('x:Y', async () => 42)).resolves.toBe(42);
});
