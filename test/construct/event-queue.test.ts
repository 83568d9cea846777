// EventQueue: queue + DLQ wiring, encryption, TLS-only policies, the derived visibility timeout,
// the two alarms, prop validation and cdk-nag.
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { EventQueue, type EventQueueProps } from '../../lib/construct/event-queue';
import { standaloneStack, unacknowledgedNagFindings } from './standalone-stack';

function build(props: Partial<EventQueueProps> = {}) {
  const stack = standaloneStack('Queues');
  const eventQueue = new EventQueue(stack, 'OrderPlaced', { name: 'order-placed', ...props });
  return { stack, eventQueue, template: Template.fromStack(stack) };
}

describe('EventQueue', () => {
  test('creates the queue and its DLQ with names derived from the stack and logical name', () => {
    const { template } = build();
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'Queues-order-placed' });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'Queues-order-placed-dlq' });
  });

  test('redrives to the DLQ after 5 receives by default, or maxReceiveCount', () => {
    const redrive = (count: number) => ({
      QueueName: 'Queues-order-placed',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] }, maxReceiveCount: count },
    });
    build().template.hasResourceProperties('AWS::SQS::Queue', redrive(5));
    build({ maxReceiveCount: 3 }).template.hasResourceProperties('AWS::SQS::Queue', redrive(3));
  });

  test('keeps dead letters 14 days and lets only its own source queue redrive into the DLQ', () => {
    build().template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'Queues-order-placed-dlq',
      MessageRetentionPeriod: 14 * 24 * 3600,
      RedriveAllowPolicy: {
        redrivePermission: 'byQueue',
        sourceQueueArns: ['arn:aws:sqs:us-west-2:123456789012:Queues-order-placed'],
      },
    });
  });

  test('encrypts both queues with SSE-SQS by default and with the given KMS key otherwise', () => {
    const { template } = build();
    expect(Object.values(template.findResources('AWS::SQS::Queue')).map((q) => q.Properties.SqsManagedSseEnabled)).toEqual([true, true]);

    const stack = standaloneStack('Kms');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new EventQueue(stack, 'Q', { name: 'payment-result', encryptionKey: key });
    const withKey = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] };
    const keyIds = Object.values(withKey.findResources('AWS::SQS::Queue')).map((q) => q.Properties.KmsMasterKeyId);
    expect(keyIds).toEqual([keyArn, keyArn]);
  });

  test('denies every non-TLS request on both queues', () => {
    const { template } = build();
    template.resourceCountIs('AWS::SQS::QueuePolicy', 2);
    template.allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('derives the visibility timeout as twice the handler timeout, at least 30 s', () => {
    expect(EventQueue.visibilityTimeoutFor(Duration.seconds(30)).toSeconds()).toBe(60);
    expect(EventQueue.visibilityTimeoutFor(Duration.seconds(5)).toSeconds()).toBe(30);
    expect(EventQueue.visibilityTimeoutFor(Duration.millis(20_500)).toSeconds()).toBe(41);
    build().template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'Queues-order-placed', VisibilityTimeout: 60 });
    build({ handlerTimeout: Duration.seconds(90) }).template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'Queues-order-placed',
      VisibilityTimeout: 180,
    });
  });

  test('alarms when the DLQ holds any message', () => {
    build().template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
    });
  });

  test('alarms when the oldest message is older than the configured age', () => {
    const template = build({ oldestMessageAlarmAge: Duration.minutes(10) }).template;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('OrderPlacedQueue'), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 600,
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });

  test.each<[string, Partial<EventQueueProps>, RegExp]>([
    ['maxReceiveCount 0', { maxReceiveCount: 0 }, /maxReceiveCount must be an integer from 1 to 1000, got 0/],
    ['fractional maxReceiveCount', { maxReceiveCount: 2.5 }, /maxReceiveCount .* got 2.5/],
    ['handlerTimeout over 6 h', { handlerTimeout: Duration.hours(7) }, /handlerTimeout must be 1 s to 6 h .* got 25200 s/],
    ['handlerTimeout under 1 s', { handlerTimeout: Duration.millis(500) }, /handlerTimeout must be 1 s to 6 h .* got 0.5 s/],
    ['retention over 14 days', { retentionPeriod: Duration.days(15) }, /retentionPeriod must be 60 s to 14 days, got 1296000 s/],
    ['alarm age under a minute', { oldestMessageAlarmAge: Duration.seconds(30) }, /oldestMessageAlarmAge must be at least 60 s .* got 30 s/],
    ['a name with a space', { name: 'order placed' }, /name must be letters, digits, hyphens or underscores, got 'order placed'/],
    ['a DLQ name over 80 characters', { queueNamePrefix: 'x'.repeat(70) }, /at most 80 .* for the DLQ/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('reports every invalid prop at once', () => {
    expect(() => build({ maxReceiveCount: 0, retentionPeriod: Duration.days(20) })).toThrow(/maxReceiveCount.*; retentionPeriod/);
  });

  test('the cdk-nag check does report a queue without DLQ or TLS policy (the check can fail)', () => {
    const stack = standaloneStack('Bare');
    new sqs.Queue(stack, 'Bare');
    expect(unacknowledgedNagFindings(stack)).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3 at Bare/Bare/Resource', 'AwsSolutions-SQS4 at Bare/Bare/Resource']),
    );
  });

  test('passes cdk-nag AwsSolutions with no unacknowledged errors', () => {
    const { stack } = build();
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });
});
