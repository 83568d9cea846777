// Storefront: the built web storefront goes to the static bucket in two deployments - hashed assets
// under assets/ with a year-long immutable Cache-Control, index.html revalidated on every use and
// invalidated (only it) at CloudFront after the assets are in place; nothing is pruned. Validation of
// the build folder and cdk-nag with the deployment handler's acknowledgments.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, SecretValue } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Edge } from '../../lib/construct/edge';
import { Storefront } from '../../lib/construct/storefront';
import { buildStorefront } from '../../web/build';
import { standaloneStack, unacknowledgedNagFindings } from './standalone-stack';

const buildDirectory = buildStorefront();

function build(directory = buildDirectory) {
  const stack = standaloneStack('Storefront');
  const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/surge/0123456789abcdef',
    securityGroupId: 'sg-0123456789abcdef0',
    loadBalancerDnsName: 'surge-123.us-west-2.elb.amazonaws.com',
  });
  const edge = new Edge(stack, 'Edge', {
    loadBalancer,
    originVerifyValue: SecretValue.secretsManager('arn:aws:secretsmanager:us-west-2:123456789012:secret:surge-origin-AbCdEf'),
  });
  const storefront = new Storefront(stack, 'Storefront', { bucket: edge.staticBucket, distribution: edge.distribution, buildDirectory: directory });
  return { stack, edge, storefront };
}

const { stack, edge } = build();
const template = Template.fromStack(stack);
const bucketRef = { Ref: stack.getLogicalId(edge.staticBucket.node.defaultChild as never) };
/** Logical id of the assets deployment (it has the assets/ prefix) or of the index deployment (it invalidates). */
const deploymentId = (kind: 'assets' | 'index') =>
  Object.keys(template.findResources('Custom::CDKBucketDeployment', {
    Properties: kind === 'assets' ? { DestinationBucketKeyPrefix: 'assets/' } : { DistributionPaths: Match.anyValue() },
  }))[0];

test('hashed assets go under assets/ with a year-long immutable Cache-Control and are never pruned', () => {
  template.hasResourceProperties('Custom::CDKBucketDeployment', {
    DestinationBucketName: bucketRef,
    DestinationBucketKeyPrefix: 'assets/',
    Prune: false,
    SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
    DistributionId: Match.absent(),
  });
});

test('index.html is revalidated on every use and only it is invalidated at CloudFront', () => {
  template.hasResourceProperties('Custom::CDKBucketDeployment', {
    DestinationBucketName: bucketRef,
    DestinationBucketKeyPrefix: Match.absent(),
    Prune: false,
    SystemMetadata: { 'cache-control': 'no-cache' },
    DistributionId: { Ref: stack.getLogicalId(edge.distribution.node.defaultChild as never) },
    DistributionPaths: ['/index.html', '/'],
  });
  template.resourceCountIs('Custom::CDKBucketDeployment', 2);
});

test('index.html is written after the assets it names', () => {
  const index = deploymentId('index');
  const assets = deploymentId('assets');
  expect(index).toMatch(/^StorefrontIndex/);
  expect(assets).toMatch(/^StorefrontAssets/);
  expect(template.toJSON().Resources[index].DependsOn).toEqual(expect.arrayContaining([assets]));
});

test('each deployment ships only its own files of the build', () => {
  const assembly = (stack.node.root as App).synth();
  const staged = (kind: 'assets' | 'index') => {
    const key = template.toJSON().Resources[deploymentId(kind)].Properties.SourceObjectKeys[0] as string;
    return readdirSync(join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`)).sort();
  };
  expect(staged('index')).toEqual(['index.html']);
  expect(staged('assets')).toEqual(readdirSync(join(buildDirectory, 'assets')).sort());
  expect(staged('assets')).toEqual([expect.stringMatching(/^main-[A-Z0-9]{8}\.css$/), expect.stringMatching(/^main-[A-Z0-9]{8}\.js$/)]);
});

test('the deployment handler leaves no unacknowledged cdk-nag finding', () => {
  expect(unacknowledgedNagFindings(build().stack)).toEqual([]);
});

test('a folder that is not a storefront build is refused, naming what is missing', () => {
  const empty = mkdtempSync(join(tmpdir(), 'surge-storefront-'));
  expect(existsSync(join(empty, 'index.html'))).toBe(false);
  try {
    expect(() => build(empty)).toThrow(/Invalid Storefront props: buildDirectory .* has no index\.html; buildDirectory .* has no assets/);
  } finally {
    rmSync(empty, { recursive: true });
  }
});
