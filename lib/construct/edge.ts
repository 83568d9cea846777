// Edge: the CloudFront distribution in front of everything. Static assets come from a private S3
// bucket through Origin Access Control; `/api/*` goes to the ALB uncached, except product reads and
// the waiting room's public reads (its event list and queue status, which every waiting shopper
// polls), which CloudFront caches for the few seconds the origin's Cache-Control allows. Every request to
// the ALB carries a secret header that the ALB's listener rules check, so the ALB answers only
// CloudFront. Access logs of the distribution and of the static bucket go to a log bucket.
import { Duration, RemovalPolicy, SecretValue, Token, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** HTTP header names: RFC 7230 token characters. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * The query parameters `GET /api/products` reads (services/order/schemas.ts listProductsSchema; a
 * test keeps the two the same); `GET /api/products/{id}` reads none.
 */
export const PRODUCT_QUERY_PARAMETERS = ['limit', 'cursor', 'q'] as const;

export interface EdgeProps {
  /** The load balancer serving `/api/*`. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;

  /**
   * Value of the secret origin header, e.g. `secret.secretValue` of the secret the load-balancer
   * construct owns. The template holds only a dynamic reference to it.
   */
  readonly originVerifyValue: SecretValue;

  /**
   * Name of the secret header CloudFront adds to every request it sends to the ALB.
   * @default 'X-Origin-Verify'
   */
  readonly originVerifyHeaderName?: string;

  /**
   * DNS name that resolves to the ALB and is covered by the ALB listener's certificate. When set,
   * CloudFront talks to the ALB over HTTPS (TLS 1.2) using this name.
   * @default - the ALB's own DNS name over HTTP (no certificate can cover `*.elb.amazonaws.com`)
   */
  readonly loadBalancerOriginDomainName?: string;

  /**
   * Names viewers use for the site; requires `certificate`.
   * @default - only the distribution's `*.cloudfront.net` name
   */
  readonly domainNames?: string[];

  /**
   * ACM certificate in us-east-1 covering `domainNames`. With it viewers need TLS 1.2 (TLSv1.2_2021).
   * @default - CloudFront's default certificate (its minimum protocol cannot be raised)
   */
  readonly certificate?: acm.ICertificate;

  /**
   * ARN of a CLOUDFRONT-scope WAFv2 web ACL (see `EdgeWebAcl`), usually from a us-east-1 stack.
   * @default - no web ACL
   */
  readonly webAclArn?: string;

  /**
   * How long CloudFront keeps a product read when the origin sends no Cache-Control.
   * @default Duration.seconds(2)
   */
  readonly productCacheDefaultTtl?: Duration;

  /**
   * Longest a product read may be cached, whatever the origin's Cache-Control asks for.
   * @default Duration.seconds(10)
   */
  readonly productCacheMaxTtl?: Duration;

  /**
   * Edge locations the distribution uses.
   * @default cloudfront.PriceClass.PRICE_CLASS_100 (North America and Europe)
   */
  readonly priceClass?: cloudfront.PriceClass;

  /**
   * How long access logs are kept in the log bucket.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;

  /**
   * What happens to the static-asset and log buckets when they leave the stack (a bucket that
   * still holds objects cannot be destroyed).
   * @default RemovalPolicy.RETAIN
   */
  readonly bucketRemovalPolicy?: RemovalPolicy;
}

/** The CloudFront distribution, its static-asset bucket and its access-log bucket. */
export class Edge extends Construct {
  /** The distribution. */
  public readonly distribution: cloudfront.Distribution;
  /** Private bucket of static assets, read by CloudFront through Origin Access Control. */
  public readonly staticBucket: s3.Bucket;
  /** Receives CloudFront's access logs (`cloudfront/`) and the static bucket's (`static-bucket/`). */
  public readonly logBucket: s3.Bucket;
  /** Cache policy of `/api/products*`: short TTLs that follow the origin's Cache-Control. */
  public readonly productCachePolicy: cloudfront.CachePolicy;
  /** Cache policy of the waiting room's public reads: the origin's Cache-Control (1-5 s), no query string. */
  public readonly waitingRoomCachePolicy: cloudfront.CachePolicy;
  /** Name of the secret header sent to the ALB. */
  public readonly originVerifyHeaderName: string;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const originVerifyHeaderName = props.originVerifyHeaderName ?? 'X-Origin-Verify';
    const productCacheDefaultTtl = props.productCacheDefaultTtl ?? Duration.seconds(2);
    const productCacheMaxTtl = props.productCacheMaxTtl ?? Duration.seconds(10);
    const accessLogRetention = props.accessLogRetention ?? Duration.days(90);
    const removalPolicy = props.bucketRemovalPolicy ?? RemovalPolicy.RETAIN;
    validate({ ...props, originVerifyHeaderName, productCacheDefaultTtl, productCacheMaxTtl, accessLogRetention });
    this.originVerifyHeaderName = originVerifyHeaderName;

    // CloudFront's standard logs are written with ACLs, so this bucket keeps ACLs enabled.
    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: accessLogRetention }],
      removalPolicy,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging its own access would write logs about writing logs.',
    });

    this.staticBucket = new s3.Bucket(this, 'StaticBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'static-bucket/',
      removalPolicy,
    });

    const overHttps = props.loadBalancerOriginDomainName !== undefined;
    const apiOrigin = new origins.HttpOrigin(props.loadBalancerOriginDomainName ?? props.loadBalancer.loadBalancerDnsName, {
      protocolPolicy: overHttps ? cloudfront.OriginProtocolPolicy.HTTPS_ONLY : cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      // A dynamic reference: CloudFormation resolves it at deploy time; it is never in the template.
      customHeaders: { [originVerifyHeaderName]: props.originVerifyValue.unsafeUnwrap() },
      // The services answer within their own deadlines; 30 s is CloudFront's default and maximum
      // without a quota increase.
      readTimeout: Duration.seconds(30),
      keepaliveTimeout: Duration.seconds(5),
    });

    this.productCachePolicy = new cloudfront.CachePolicy(this, 'ProductCachePolicy', {
      comment: 'Product reads: follow the origin Cache-Control, within a few seconds',
      minTtl: Duration.seconds(0),
      defaultTtl: productCacheDefaultTtl,
      maxTtl: productCacheMaxTtl,
      // Only the query parameters the product routes read are in the cache key (and reach the
      // origin): with all of them, `?q=x&junk=<random>` would make every request a cache miss.
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.allowList(...PRODUCT_QUERY_PARAMETERS),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });

    // Thousands of waiting shoppers poll their event's status; one origin request per second per
    // edge location answers them all. Nothing but the path identifies the answer.
    this.waitingRoomCachePolicy = new cloudfront.CachePolicy(this, 'WaitingRoomCachePolicy', {
      comment: 'Waiting room event list and queue status: follow the origin Cache-Control, at most 5 s',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(1),
      maxTtl: Duration.seconds(5),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });

    const api: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      // No redirect for the API: a redirected POST would already have sent its body in clear text.
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // With caching disabled this forwards every viewer header (Authorization included), cookie
      // and query string; the Host header stays the origin's so the ALB's certificate matches.
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };

    const hasDomain = props.certificate !== undefined;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Surge storefront and API',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.staticBucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        compress: true,
      },
      // More specific patterns first: CloudFront takes the first behaviour whose pattern matches.
      additionalBehaviors: {
        '/api/products*': {
          ...api,
          // Only GET and HEAD responses are cached; other methods pass through to the origin.
          cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
          cachePolicy: this.productCachePolicy,
          originRequestPolicy: undefined,
          compress: true,
        },
        // Joining and admission (/api/waiting-room/<event>/tickets|admission) carry the shopper's
        // Bearer token: uncached, every viewer header forwarded, as for the rest of the API ...
        '/api/waiting-room/*/*': api,
        // ... while the event list and each event's status are public and cached briefly.
        '/api/waiting-room*': {
          ...api,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
          cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
          cachePolicy: this.waitingRoomCachePolicy,
          originRequestPolicy: undefined,
          compress: true,
        },
        '/api/*': api,
      },
      domainNames: props.domainNames,
      certificate: props.certificate,
      // Only a custom certificate lets CloudFront raise the viewer protocol floor.
      minimumProtocolVersion: hasDomain ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      sslSupportMethod: hasDomain ? cloudfront.SSLMethod.SNI : undefined,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      webAclId: props.webAclArn,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
    });

    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'The storefront sells to every country the business ships to; restrict countries here (geoRestriction) if that changes.',
    });
    if (!hasDomain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason: 'No custom domain is configured, so the distribution uses the *.cloudfront.net certificate, whose minimum protocol CloudFront fixes at TLSv1; configuring a domain switches viewers to TLSv1.2_2021.',
      });
    }
    if (!overHttps) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR5',
        reason: 'No origin domain is configured, so the ALB has no certificate and CloudFront reaches it over HTTP; the ALB admits only the CloudFront origin-facing prefix list plus the secret header. Configure a domain for HTTPS to the origin.',
      });
    }
    if (props.webAclArn === undefined) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR2',
        reason: 'No web ACL was passed to this distribution (standalone use); the Surge app always passes the EdgeWebAcl from its us-east-1 stack.',
      });
    }
  }
}

interface ResolvedEdgeProps extends EdgeProps {
  readonly originVerifyHeaderName: string;
  readonly productCacheDefaultTtl: Duration;
  readonly productCacheMaxTtl: Duration;
  readonly accessLogRetention: Duration;
}

function validate(p: ResolvedEdgeProps): void {
  const problems: string[] = [];
  if (!Token.isUnresolved(p.originVerifyHeaderName) && !HEADER_NAME.test(p.originVerifyHeaderName)) {
    problems.push(`originVerifyHeaderName must be a valid HTTP header name, got '${p.originVerifyHeaderName}'`);
  }
  if ((p.domainNames?.length ?? 0) > 0 && p.certificate === undefined) {
    problems.push(`domainNames ${JSON.stringify(p.domainNames)} need a certificate covering them`);
  }
  if (p.certificate !== undefined && (p.domainNames?.length ?? 0) === 0) {
    problems.push('a certificate was given without domainNames');
  }
  const certArn = p.certificate?.certificateArn;
  if (certArn !== undefined && !Token.isUnresolved(certArn) && certArn.split(':')[3] !== 'us-east-1') {
    problems.push(`CloudFront reads certificates only from us-east-1, got ${certArn}`);
  }
  if (!p.productCacheDefaultTtl.isUnresolved() && !p.productCacheMaxTtl.isUnresolved()) {
    const def = p.productCacheDefaultTtl.toMilliseconds() / 1000;
    const max = p.productCacheMaxTtl.toMilliseconds() / 1000;
    if (!Number.isInteger(def) || !Number.isInteger(max)) problems.push(`product cache TTLs must be whole seconds, got ${def} s and ${max} s`);
    if (def > max) problems.push(`productCacheDefaultTtl (${def} s) must not exceed productCacheMaxTtl (${max} s)`);
    if (max > 300) problems.push(`productCacheMaxTtl must be at most 300 s (product reads are meant to be near-live), got ${max} s`);
  }
  if (!p.accessLogRetention.isUnresolved()) {
    const days = p.accessLogRetention.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1) problems.push(`accessLogRetention must be a whole number of days, at least 1, got ${days}`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid Edge props: ${problems.join('; ')}`);
  }
}
