import '../support/fake-aws-env';
import { DescribeAutoScalingGroupsCommand, DescribeScheduledActionsCommand } from '@aws-sdk/client-auto-scaling';
import { namedFor, scalingChecks } from '../../checks/scaling';
import { awsError, checkContext, mockHealthyStack, mocks, prewarmAction, SALE_END, SALE_START } from '../support/stack';

const rowsFor = (now?: number, overrides = {}) => scalingChecks.run(checkContext(overrides, now));
const row = async (check: string, now?: number, overrides = {}) =>
  (await rowsFor(now, overrides)).find((r) => r.check === check)!;

beforeEach(mockHealthyStack);

test('every fleet pre-warmed for the sale with room to grow passes', async () => {
  const rows = await rowsFor();
  expect(rows).toHaveLength(8);
  expect(rows.every((r) => r.verdict === 'pass')).toBe(true);
  expect(rows[0]).toEqual({
    check: 'user pre-warm for black-friday-2027',
    expected: 'min >= 12 before 2027-11-26T05:00:00.000Z',
    found: 'min 12 at 2027-11-26T04:15:00.000Z',
    verdict: 'pass',
  });
});

test('a fleet with no action named for the sale fails', async () => {
  mocks.autoScaling.on(DescribeScheduledActionsCommand, { AutoScalingGroupName: 'surge-prod-order' }).resolves({
    ScheduledUpdateGroupActions: [{ ...prewarmAction('surge-prod-order'), ScheduledActionName: 'Surge-prod-NightlyScaleIn', Recurrence: '0 2 * * *' }],
  });
  expect(await row('order pre-warm for black-friday-2027')).toMatchObject({
    verdict: 'fail',
    found: 'no scheduled action named for black-friday-2027; min 3 now',
  });
});

test('an action not named for the sale still counts when it is one-time and starts in the day before', async () => {
  mocks.autoScaling.on(DescribeScheduledActionsCommand, { AutoScalingGroupName: 'surge-prod-order' }).resolves({
    ScheduledUpdateGroupActions: [
      { ...prewarmAction('surge-prod-order'), ScheduledActionName: 'Surge-prod-OrderFleetbl-1A2B3C' },
      { ...prewarmAction('surge-prod-order', 20, new Date(SALE_START - 2 * 86_400_000)), ScheduledActionName: 'Surge-prod-Earlier' },
    ],
  });
  expect(await row('order pre-warm for black-friday-2027')).toMatchObject({
    verdict: 'pass',
    found: 'min 12 at 2027-11-26T04:15:00.000Z (matched by start time)',
  });
});

test('a pre-warm below the configured minimum fails', async () => {
  mocks.autoScaling
    .on(DescribeScheduledActionsCommand, { AutoScalingGroupName: 'surge-prod-payment' })
    .resolves({ ScheduledUpdateGroupActions: [prewarmAction('surge-prod-payment', 6)] });
  expect(await row('payment pre-warm for black-friday-2027')).toMatchObject({ verdict: 'fail', found: expect.stringMatching(/^min 6 at/) });
});

test('a pre-warm that starts after the sale has begun fails', async () => {
  mocks.autoScaling
    .on(DescribeScheduledActionsCommand, { AutoScalingGroupName: 'surge-prod-worker' })
    .resolves({ ScheduledUpdateGroupActions: [prewarmAction('surge-prod-worker', 12, new Date(SALE_START + 60_000))] });
  expect(await row('worker pre-warm for black-friday-2027')).toMatchObject({
    verdict: 'fail',
    found: 'actions start at 2027-11-26T05:01:00.000Z; min 3 now',
  });
});

test('max capacity below the sale minimum or the capacity plan fails', async () => {
  mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: ['user', 'order', 'payment', 'worker'].map((fleet) => ({
      AutoScalingGroupName: `surge-prod-${fleet}`,
      MinSize: 3,
      MaxSize: fleet === 'user' ? 10 : 30,
      DesiredCapacity: 3,
      DefaultCooldown: 300,
      AvailabilityZones: ['us-west-2a'],
      HealthCheckType: 'ELB',
      CreatedTime: new Date(),
    })),
  });
  const rows = await rowsFor(undefined, { capacityPlan: { order: 40 } });
  expect(rows.find((r) => r.check === 'user max capacity')).toMatchObject({ verdict: 'fail', expected: '>= 12', found: '10' });
  expect(rows.find((r) => r.check === 'order max capacity')).toMatchObject({ verdict: 'fail', expected: '>= 40', found: '30' });
  expect(rows.find((r) => r.check === 'payment max capacity')).toMatchObject({ verdict: 'pass' });
});

test('once the one-time pre-warm has run, the live minimum is what counts', async () => {
  const during = SALE_START + 3_600_000;
  // The pre-warm action has run and is gone; only the release action is left.
  mocks.autoScaling
    .on(DescribeScheduledActionsCommand)
    .resolves({ ScheduledUpdateGroupActions: [{ ...prewarmAction('surge-prod-user'), ScheduledActionName: 'Surge-prod-UserFleetblackfriday2027Release1A2B', StartTime: new Date(SALE_END) }] });
  expect(await row('user pre-warm for black-friday-2027', during)).toMatchObject({
    verdict: 'fail',
    found: 'actions start at 2027-11-27T08:00:00.000Z; min 3 now',
  });
  mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: ['user', 'order', 'payment', 'worker'].map((fleet) => ({
      AutoScalingGroupName: `surge-prod-${fleet}`,
      MinSize: 12,
      MaxSize: 30,
      DesiredCapacity: 12,
      DefaultCooldown: 300,
      AvailabilityZones: ['us-west-2a'],
      HealthCheckType: 'ELB',
      CreatedTime: new Date(),
    })),
  });
  expect(await row('user pre-warm for black-friday-2027', during)).toMatchObject({
    verdict: 'pass',
    found: 'min 12 now (pre-warm already applied)',
  });
});

test('a sale that already ended fails', async () => {
  expect(await row('user pre-warm for black-friday-2027', SALE_END + 1)).toMatchObject({ verdict: 'fail' });
});

test('without a sale the pre-warm checks are skipped, capacity still checked', async () => {
  const rows = await rowsFor(undefined, { sale: undefined });
  expect(rows[0]).toMatchObject({ check: 'sale pre-warm', verdict: 'skip' });
  expect(rows.filter((r) => r.check.endsWith('max capacity'))).toHaveLength(4);
  expect(mocks.autoScaling.commandCalls(DescribeScheduledActionsCommand)).toHaveLength(0);
});

test('scheduled actions are read across pages', async () => {
  mocks.autoScaling
    .on(DescribeScheduledActionsCommand, { AutoScalingGroupName: 'surge-prod-user' })
    .resolvesOnce({ ScheduledUpdateGroupActions: [], NextToken: 'page-2' })
    .resolves({ ScheduledUpdateGroupActions: [prewarmAction('surge-prod-user')] });
  expect(await row('user pre-warm for black-friday-2027')).toMatchObject({ verdict: 'pass' });
  expect(mocks.autoScaling.commandCalls(DescribeScheduledActionsCommand, { AutoScalingGroupName: 'surge-prod-user' })).toHaveLength(2);
});

test('sale names match CloudFormation-generated action names ignoring case and punctuation', () => {
  expect(namedFor({ ScheduledActionName: 'Surge-prod-OrderFleetPrewarmBlackFriday2027AB12-XY' }, 'black-friday-2027')).toBe(true);
  expect(namedFor({ ScheduledActionName: 'Surge-prod-OrderFleetPrewarmCyberMonday2027AB12-XY' }, 'black-friday-2027')).toBe(false);
});

test('access denied names autoscaling:DescribeScheduledActions', async () => {
  mocks.autoScaling.on(DescribeScheduledActionsCommand).rejects(awsError('AccessDenied'));
  await expect(rowsFor()).rejects.toThrow('missing permission autoscaling:DescribeScheduledActions');
});
