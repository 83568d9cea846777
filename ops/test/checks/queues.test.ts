import '../support/fake-aws-env';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { queueChecks } from '../../checks/queues';
import { answerMetrics, awsError, checkContext, HEALTHY_METRICS, mockHealthyStack, mocks, OUTPUTS } from '../support/stack';

const row = async (check: string) => (await queueChecks.run(checkContext())).find((r) => r.check === check)!;

beforeEach(mockHealthyStack);

test('empty dead-letter queues and fresh main queues pass', async () => {
  const rows = await queueChecks.run(checkContext());
  expect(rows).toEqual([
    { check: 'order-placed-dlq empty', expected: '0 messages', found: '0 messages', verdict: 'pass' },
    { check: 'payment-result-dlq empty', expected: '0 messages', found: '0 messages', verdict: 'pass' },
    { check: 'order-placed oldest message', expected: '< 300 s', found: '3 s now, peak 3 s', verdict: 'pass' },
    { check: 'payment-result oldest message', expected: '< 300 s', found: '0 s now, peak 1 s', verdict: 'pass' },
  ]);
});

test('a dead-letter queue holding messages in flight still fails', async () => {
  mocks.sqs.on(GetQueueAttributesCommand, { QueueUrl: OUTPUTS.PaymentResultDlqUrl }).resolves({
    Attributes: {
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '2',
      ApproximateNumberOfMessagesDelayed: '0',
    },
  });
  expect(await row('payment-result-dlq empty')).toMatchObject({ verdict: 'fail', found: '2 messages' });
  expect(await row('order-placed-dlq empty')).toMatchObject({ verdict: 'pass' });
});

test('a main queue whose oldest message is too old fails', async () => {
  answerMetrics({
    ...HEALTHY_METRICS,
    ApproximateAgeOfOldestMessage: { 'surge-prod-order-placed': [200, 400, 612], 'surge-prod-payment-result': [1] },
  });
  expect(await row('order-placed oldest message')).toMatchObject({ verdict: 'fail', found: '612 s now, peak 612 s' });
});

test('an idle queue with no datapoints passes and says why', async () => {
  answerMetrics({ ...HEALTHY_METRICS, ApproximateAgeOfOldestMessage: {} });
  expect(await row('order-placed oldest message')).toMatchObject({ verdict: 'pass', found: 'no datapoints (idle queue)' });
});

test('access denied names sqs:GetQueueAttributes', async () => {
  mocks.sqs.on(GetQueueAttributesCommand).rejects(awsError('AccessDeniedException'));
  await expect(queueChecks.run(checkContext())).rejects.toThrow('missing permission sqs:GetQueueAttributes');
});
