// The target groups' health check against a real service app whose database is away (a writer that
// does not answer, as in an Aurora failover): the path the ALB checks keeps answering 200 on every
// check, so no instance is reported unhealthy to Auto Scaling, while readiness, which the target
// groups used to check, fails. Requests that need the database answer 503 per request instead.
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HEALTH_CHECK, LoadBalancer } from '../../lib/construct/load-balancer';
import { buildApp, type SurgeApp } from '../../services/platform/app';
import type { ServiceContext } from '../../services/platform/context';
import { createTestContext, freePort } from '../../services/test-support/testing';
import { constructTestStack } from '../helpers/app';

/** The health check path a service route's target group gets by default (what the stack uses). */
function targetGroupHealthCheckPath(): string {
  const stack = constructTestStack();
  const lb = new LoadBalancer(stack, 'Lb', { vpc: new ec2.Vpc(stack, 'Vpc'), cloudFrontPrefixListId: 'pl-82a045eb' });
  lb.addServiceRoute('order', { priority: 20, pathPatterns: ['/api/orders*'] });
  const [group] = Object.values(Template.fromStack(stack).findResources('AWS::ElasticLoadBalancingV2::TargetGroup'));
  return group.Properties.HealthCheckPath;
}

jest.setTimeout(120_000);

let ctx: ServiceContext;
let app: SurgeApp;
beforeAll(async () => {
  // Nothing listens on this port: every database connection is refused, as while the writer is away.
  const awayDatabase = `postgres://surge@127.0.0.1:${await freePort()}/surge`;
  ctx = await createTestContext({ databaseUrl: awayDatabase });
  app = await buildApp(ctx, []);
});
afterAll(async () => {
  await app?.close();
  await ctx?.close();
});

test('with the database away, every check of the target group path passes; readiness would have failed', async () => {
  const path = targetGroupHealthCheckPath();
  expect(path).toBe(HEALTH_CHECK.path);
  // More consecutive checks than the unhealthy threshold: not one may fail.
  for (let check = 0; check < HEALTH_CHECK.unhealthyThreshold * 3; check++) {
    const response = await app.inject({ method: 'GET', url: path });
    expect(response.statusCode).toBe(200);
  }
  const readiness = await app.inject({ method: 'GET', url: '/health/ready' });
  expect(readiness.statusCode).toBe(503);
  expect(readiness.json()).toMatchObject({ database: 'down' });
});
