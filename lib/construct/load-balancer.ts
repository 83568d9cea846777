// The internet-facing Application Load Balancer in front of the service fleets. Only CloudFront can
// reach it: its security group admits just CloudFront's origin-facing prefix list, and every
// routing rule also requires a secret header that only the distribution sends. Anything unrouted
// gets a fixed 404 JSON body.
import { Annotations, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Header CloudFront adds to every origin request; listener rules forward only requests carrying it. */
export const ORIGIN_VERIFY_HEADER = 'X-Origin-Verify';

/**
 * The target groups' health check. The path is the services' liveness route (process up, event loop
 * answering), never readiness: with ELB health checks on the groups, a check that failed while the
 * database is away would have Auto Scaling replace every instance during an Aurora failover. A dead
 * or hung process fails `unhealthyThreshold` checks `intervalSeconds` apart: out of rotation, and
 * replaced, about 20 s after it stopped answering (docs/ARCHITECTURE.md, "Health checks").
 */
export const HEALTH_CHECK = {
  path: '/health/live',
  intervalSeconds: 10,
  timeoutSeconds: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
} as const;

/** The body of the default action, in the services' error shape (`{ error, message }`). */
export const NOT_FOUND_BODY = JSON.stringify({ error: 'not_found', message: 'No route matches this path' });

export interface LoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** ID of the `com.amazonaws.global.cloudfront.origin-facing` managed prefix list in this region. */
  readonly cloudFrontPrefixListId: string;
  /**
   * Certificate for an HTTPS listener (TLS 1.2+); port 80 then only redirects to 443.
   * @default - no HTTPS: the routes live on an HTTP listener on port 80 and a warning is annotated
   */
  readonly certificate?: acm.ICertificate;
  /**
   * Refuse deletion of the load balancer.
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * Idle connection timeout; keep it below the services' keep-alive timeout (70 s).
   * @default Duration.seconds(60)
   */
  readonly idleTimeout?: Duration;
  /**
   * How long access logs are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
}

/** A path-routed service behind the load balancer. */
export interface ServiceRouteOptions {
  /** Rule priority (1-50000), unique per load balancer; lower is evaluated first. */
  readonly priority: number;
  /** Path patterns such as `/api/orders*`; at most three (an ALB condition compares at most three values). */
  readonly pathPatterns: readonly string[];
  /**
   * Port the service listens on.
   * @default 8080
   */
  readonly port?: number;
  /**
   * Path the target group checks. It decides rotation, and with ELB health checks on the Auto Scaling
   * group also replacement, so it must fail only when the instance itself is broken: a check that
   * follows a shared dependency (the database) would mark every instance unhealthy at once.
   * @default '/health/live' (the process is up and answering)
   */
  readonly healthCheckPath?: string;
  /**
   * Time a deregistering target keeps serving in-flight requests.
   * @default Duration.seconds(30), longer than the services' 20 s shutdown deadline
   */
  readonly deregistrationDelay?: Duration;
  /**
   * Ramp-up period for new targets (30-900 s).
   * @default - no slow start
   */
  readonly slowStart?: Duration;
}

export class LoadBalancer extends Construct {
  public readonly alb: elbv2.ApplicationLoadBalancer;
  /** Admits CloudFront's origin-facing addresses on the listener port. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The listener that carries the service routes (HTTPS with a certificate, else HTTP). */
  public readonly listener: elbv2.ApplicationListener;
  /** Protocol CloudFront must use to reach `listener`. */
  public readonly protocol: elbv2.ApplicationProtocol;
  /** Random value of ORIGIN_VERIFY_HEADER; CloudFront sends it, the listener rules require it. */
  public readonly originVerifySecret: secretsmanager.Secret;
  public readonly originVerifyHeaderName = ORIGIN_VERIFY_HEADER;
  public readonly accessLogBucket: s3.Bucket;
  public readonly targetGroups: Record<string, elbv2.ApplicationTargetGroup> = {};

  private readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.cloudFrontPrefixListId) && !/^pl-[0-9a-f]+$/.test(props.cloudFrontPrefixListId)) {
      throw new Error(`LoadBalancer: cloudFrontPrefixListId ${JSON.stringify(props.cloudFrontPrefixListId)} is not a prefix list ID (pl-...)`);
    }
    this.vpc = props.vpc;
    const cloudFront = ec2.Peer.prefixList(props.cloudFrontPrefixListId);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Surge ALB: CloudFront origin-facing addresses only',
      // Egress rules to each fleet are added when target groups register their groups.
      allowAllOutbound: false,
    });

    this.alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      deletionProtection: props.deletionProtection ?? false,
      dropInvalidHeaderFields: true,
      idleTimeout: props.idleTimeout ?? Duration.seconds(60),
    });

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // ALB log delivery supports only SSE-S3
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: props.accessLogRetention ?? Duration.days(90) }],
      // Logs outlive the stack so an incident can still be investigated after a teardown.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the ALB access-log destination; logging access to the log bucket itself would need yet another bucket and adds no audit value.',
    });
    this.alb.logAccessLogs(this.accessLogBucket, 'alb');

    this.originVerifySecret = new secretsmanager.Secret(this, 'OriginVerifySecret', {
      description: `Value of the ${ORIGIN_VERIFY_HEADER} header CloudFront sends to the Surge ALB`,
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    Validations.of(this.originVerifySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'CloudFormation copies this value into the CloudFront origin and the listener rules at deploy time; a rotation outside a deployment would make the ALB reject all CloudFront traffic. Rotate by replacing the secret in a deployment.',
    });

    const notFound = elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/json', messageBody: NOT_FOUND_BODY });
    if (props.certificate) {
      this.protocol = elbv2.ApplicationProtocol.HTTPS;
      this.listener = this.alb.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [props.certificate],
        sslPolicy: elbv2.SslPolicy.TLS13_12_PQ, // TLS 1.2 and 1.3 only
        defaultAction: notFound,
        open: false,
      });
      this.securityGroup.addIngressRule(cloudFront, ec2.Port.tcp(443), 'HTTPS from CloudFront origin-facing addresses');
      // The CloudFront prefix list counts as ~55 rules against a security group's quota of 60,
      // so port 80 (redirect only) gets its own group instead of a second rule here.
      const redirectGroup = new ec2.SecurityGroup(this, 'RedirectSecurityGroup', {
        vpc: props.vpc,
        description: 'Surge ALB: HTTP to HTTPS redirect for CloudFront origin-facing addresses',
        allowAllOutbound: false,
      });
      redirectGroup.addIngressRule(cloudFront, ec2.Port.tcp(80), 'HTTP (redirected) from CloudFront origin-facing addresses');
      this.alb.addSecurityGroup(redirectGroup);
      this.alb.addListener('HttpRedirect', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
        open: false,
      });
    } else {
      this.protocol = elbv2.ApplicationProtocol.HTTP;
      this.listener = this.alb.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultAction: notFound,
        open: false,
      });
      this.securityGroup.addIngressRule(cloudFront, ec2.Port.tcp(80), 'HTTP from CloudFront origin-facing addresses');
      Annotations.of(this).addWarningV2(
        'surge:no-certificate',
        'No certificate configured: CloudFront reaches the ALB over HTTP. Set domain in the environment config for HTTPS end to end.',
      );
    }
  }

  /** Creates a target group for a service and routes its paths to it (secret header required). */
  public addServiceRoute(name: string, options: ServiceRouteOptions): elbv2.ApplicationTargetGroup {
    const problems: string[] = [];
    // An ALB condition compares at most three values (and a rule five, the origin header included).
    if (options.pathPatterns.length < 1 || options.pathPatterns.length > 3) {
      problems.push(`pathPatterns ${JSON.stringify(options.pathPatterns)} must hold 1-3 patterns (an ALB condition compares at most three values)`);
    }
    if (!Number.isInteger(options.priority) || options.priority < 1 || options.priority > 50000) {
      problems.push(`priority ${options.priority} must be a whole number from 1 to 50000`);
    }
    if (this.targetGroups[name]) problems.push(`a route named ${JSON.stringify(name)} already exists`);
    if (problems.length > 0) throw new Error(`LoadBalancer.addServiceRoute(${JSON.stringify(name)}): ${problems.join('; ')}`);

    const targetGroup = new elbv2.ApplicationTargetGroup(this, `${name}Targets`, {
      vpc: this.vpc,
      port: options.port ?? 8080,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      deregistrationDelay: options.deregistrationDelay ?? Duration.seconds(30),
      slowStart: options.slowStart,
      healthCheck: {
        path: options.healthCheckPath ?? HEALTH_CHECK.path,
        healthyHttpCodes: '200',
        interval: Duration.seconds(HEALTH_CHECK.intervalSeconds),
        timeout: Duration.seconds(HEALTH_CHECK.timeoutSeconds),
        healthyThresholdCount: HEALTH_CHECK.healthyThreshold,
        unhealthyThresholdCount: HEALTH_CHECK.unhealthyThreshold,
      },
    });
    this.listener.addTargetGroups(`${name}Route`, {
      priority: options.priority,
      conditions: [
        elbv2.ListenerCondition.pathPatterns([...options.pathPatterns]),
        elbv2.ListenerCondition.httpHeader(ORIGIN_VERIFY_HEADER, [this.originVerifySecret.secretValue.unsafeUnwrap()]),
      ],
      targetGroups: [targetGroup],
    });
    this.targetGroups[name] = targetGroup;
    return targetGroup;
  }
}
