// Storefront: puts the built web storefront (web/build.ts) into the static bucket behind CloudFront.
// Two deployments, because the two kinds of file want opposite caching: the hashed files under
// assets/ never change under their name (cached for a year, immutable, never pruned, so a browser
// still holding the previous index.html finds the assets it names), while index.html names the
// current assets (every cache revalidates it, and the deployment invalidates only it at CloudFront).
// index.html is written after the assets, so it never names a file that is not there yet.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement, DefaultStackSynthesizer, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { ASSETS_DIR, CACHE_CONTROL, INDEX_HTML } from '../../web/build';

export interface StorefrontProps {
  /** The bucket CloudFront's default behaviour reads (the Edge construct's `staticBucket`). */
  readonly bucket: s3.IBucket;

  /** The distribution whose cached index.html is invalidated after each deployment. */
  readonly distribution: cloudfront.IDistribution;

  /** A storefront build: `index.html` and an `assets/` folder of content-hashed files (`buildStorefront()`). */
  readonly buildDirectory: string;
}

/** Paths invalidated after a deployment: the root object under both names a viewer can ask for it. */
export const STOREFRONT_INVALIDATION_PATHS: readonly string[] = [`/${INDEX_HTML}`, '/'];

export class Storefront extends Construct {
  /** Writes `assets/*` (long-lived, immutable). */
  public readonly assetsDeployment: s3deploy.BucketDeployment;
  /** Writes `index.html` (revalidated on every use) and invalidates it at CloudFront. */
  public readonly indexDeployment: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: StorefrontProps) {
    super(scope, id);
    validate(props);

    this.assetsDeployment = new s3deploy.BucketDeployment(this, 'Assets', {
      sources: [s3deploy.Source.asset(join(props.buildDirectory, ASSETS_DIR))],
      destinationBucket: props.bucket,
      destinationKeyPrefix: `${ASSETS_DIR}/`,
      cacheControl: [s3deploy.CacheControl.fromString(CACHE_CONTROL.asset)],
      // Old assets stay: pages loaded before this deployment keep working until they reload.
      prune: false,
    });

    this.indexDeployment = new s3deploy.BucketDeployment(this, 'Index', {
      sources: [s3deploy.Source.asset(props.buildDirectory, { exclude: [ASSETS_DIR] })],
      destinationBucket: props.bucket,
      cacheControl: [s3deploy.CacheControl.fromString(CACHE_CONTROL.index)],
      // Pruning here would delete assets/ (not in this source).
      prune: false,
      distribution: props.distribution,
      distributionPaths: [...STOREFRONT_INVALIDATION_PATHS],
    });
    this.indexDeployment.node.addDependency(this.assetsDeployment);

    acknowledgeDeploymentHandler(this.assetsDeployment, props.bucket);
  }
}

/**
 * BucketDeployment runs one shared Lambda per stack (a singleton at the stack's root, written by the
 * CDK): its findings are acknowledged on its role and function, one by one, each with what it is for.
 */
function acknowledgeDeploymentHandler(deployment: s3deploy.BucketDeployment, bucket: s3.IBucket): void {
  const stack = Stack.of(deployment);
  const bucketResource = bucket.node.defaultChild as CfnElement;
  const bucketId = stack.resolve(Stack.of(bucketResource).getLogicalId(bucketResource)) as string;
  const name = (value: string, placeholder: string) => (Token.isUnresolved(value) ? placeholder : value);
  const assetBucket = `cdk-${DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-${name(stack.account, '<AWS::AccountId>')}-${name(stack.region, '<AWS::Region>')}`;
  const copy = 'The BucketDeployment handler (CDK-written) unzips the storefront asset into the static bucket';
  const roleFindings: Record<string, string> = {
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
      'The BucketDeployment handler role (CDK-written) uses AWSLambdaBasicExecutionRole only to write its own CloudWatch logs.',
    'AwsSolutions-IAM5[Action::s3:GetBucket*]': `${copy}: it reads the CDK asset bucket's metadata (grantRead).`,
    'AwsSolutions-IAM5[Action::s3:GetObject*]': `${copy}: it reads the asset zip and the existing objects (grantRead/grantReadWrite).`,
    'AwsSolutions-IAM5[Action::s3:List*]': `${copy}: it lists the destination to compare and the asset bucket (grantRead).`,
    'AwsSolutions-IAM5[Action::s3:Abort*]': `${copy}: multipart uploads of larger files may be aborted (grantReadWrite).`,
    'AwsSolutions-IAM5[Action::s3:DeleteObject*]': `${copy}: grantReadWrite includes deletes; both deployments set prune false, so it deletes nothing.`,
    [`AwsSolutions-IAM5[Resource::arn:aws:s3:::${assetBucket}/*]`]: `${copy}: the asset zip's key is chosen at synth time in the CDK bootstrap asset bucket.`,
    [`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`]: `${copy}: it writes any object of the storefront build (index.html, assets/*).`,
    'AwsSolutions-IAM5[Resource::*]': 'The BucketDeployment handler calls cloudfront:CreateInvalidation/GetInvalidation, which the CDK grants on every distribution.',
  };
  for (const [id, reason] of Object.entries(roleFindings)) Validations.of(deployment.handlerRole).acknowledge({ id, reason });
  // The role's scope is the singleton function.
  Validations.of(deployment.handlerRole.node.scope!).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'The CDK picks and upgrades the runtime of its BucketDeployment handler with aws-cdk-lib; it runs only during deployments, never on a request path.',
  });
}

function validate(props: StorefrontProps): void {
  const problems: string[] = [];
  if (!Token.isUnresolved(props.buildDirectory)) {
    for (const file of [INDEX_HTML, ASSETS_DIR]) {
      if (!existsSync(join(props.buildDirectory, file))) problems.push(`buildDirectory ${props.buildDirectory} has no ${file}`);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid Storefront props: ${problems.join('; ')}`);
}
