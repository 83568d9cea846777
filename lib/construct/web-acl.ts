// EdgeWebAcl: the WAFv2 web ACL in front of CloudFront — a per-IP rate limit plus the AWS managed
// IP-reputation, Common and KnownBadInputs rule groups — logging to CloudWatch Logs. CloudFront
// only accepts web ACLs of scope CLOUDFRONT, and those exist only in us-east-1, so this construct
// belongs in a us-east-1 stack whose ARN the edge stack imports across regions.
import { Duration, RemovalPolicy, Stack, Token, ArnFormat } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { WAF_EVALUATION_WINDOWS_SECONDS, WAF_RATE_LIMIT_MAX, WAF_RATE_LIMIT_MIN } from '../config/validate';

/** WAF only delivers logs to CloudWatch log groups whose name starts with this. */
const WAF_LOG_GROUP_PREFIX = 'aws-waf-logs-';

export interface EdgeWebAclProps {
  /**
   * Requests a single client IP may send per evaluation window before the rate rule blocks it
   * (10 - 2,000,000,000, WAF's accepted range). Pick it from real peak traffic per client.
   */
  readonly rateLimit: number;

  /**
   * Window over which the rate rule counts requests: 1, 2, 5 or 10 minutes.
   * @default Duration.minutes(5)
   */
  readonly evaluationWindow?: Duration;

  /**
   * Name of the WAF log group; must start with `aws-waf-logs-`.
   * @default - `aws-waf-logs-<stack name>`
   */
  readonly logGroupName?: string;

  /**
   * Retention of the WAF log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Prefix of the CloudWatch metric names of the ACL and its rules.
   * @default - the stack name
   */
  readonly metricPrefix?: string;
}

/** A CLOUDFRONT-scope WAFv2 web ACL with managed protections, a per-IP rate limit and logging. */
export class EdgeWebAcl extends Construct {
  /** The web ACL; pass `webAcl.attrArn` to the CloudFront distribution. */
  public readonly webAcl: wafv2.CfnWebACL;
  /** ARN of the web ACL. */
  public readonly webAclArn: string;
  /** Log group receiving WAF's request logs. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EdgeWebAclProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const evaluationWindow = props.evaluationWindow ?? Duration.minutes(5);
    const logGroupName = props.logGroupName ?? `${WAF_LOG_GROUP_PREFIX}${stack.stackName}`;
    const metricPrefix = (props.metricPrefix ?? stack.stackName).replace(/[^A-Za-z0-9_-]/g, '-');
    validate(stack, props, evaluationWindow, logGroupName);

    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${metricPrefix}-${name}`,
      sampledRequestsEnabled: true,
    });
    const managedGroup = (priority: number, name: string): wafv2.CfnWebACL.RuleProperty => ({
      name: `AWS-${name}`,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: visibility(name),
    });

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      description: 'Surge edge: per-IP rate limit and AWS managed protections',
      visibilityConfig: visibility('WebAcl'),
      rules: [
        // Cheapest first: a flooding IP is blocked before the managed groups inspect its requests.
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit: props.rateLimit,
              evaluationWindowSec: evaluationWindow.toSeconds(),
            },
          },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
        managedGroup(1, 'AWSManagedRulesAmazonIpReputationList'),
        managedGroup(2, 'AWSManagedRulesCommonRuleSet'),
        managedGroup(3, 'AWSManagedRulesKnownBadInputsRuleSet'),
      ],
    });
    this.webAclArn = this.webAcl.attrArn;

    this.logGroup = new logs.LogGroup(this, 'Log', {
      logGroupName,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // WAF wants the log group ARN without the `:*` suffix that LogGroup.logGroupArn carries.
    const logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: this.logGroup.logGroupName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [logGroupArn],
      // Credentials and session cookies have no place in request logs.
      redactedFields: [{ singleHeader: { Name: 'authorization' } }, { singleHeader: { Name: 'cookie' } }],
    });
  }
}

function validate(stack: Stack, props: EdgeWebAclProps, evaluationWindow: Duration, logGroupName: string): void {
  const problems: string[] = [];
  if (!Token.isUnresolved(stack.region) && stack.region !== 'us-east-1') {
    problems.push(`a CLOUDFRONT web ACL must be created in us-east-1, but this stack is in ${stack.region}`);
  }
  if (!Token.isUnresolved(props.rateLimit)) {
    if (!Number.isInteger(props.rateLimit) || props.rateLimit < WAF_RATE_LIMIT_MIN || props.rateLimit > WAF_RATE_LIMIT_MAX) {
      problems.push(`rateLimit must be an integer from ${WAF_RATE_LIMIT_MIN} to ${WAF_RATE_LIMIT_MAX} (WAF's accepted range), got ${props.rateLimit}`);
    }
  }
  if (!evaluationWindow.isUnresolved()) {
    const windowSeconds = evaluationWindow.toMilliseconds() / 1000;
    if (!WAF_EVALUATION_WINDOWS_SECONDS.includes(windowSeconds)) {
      problems.push(`evaluationWindow must be 60, 120, 300 or 600 seconds, got ${windowSeconds}`);
    }
  }
  if (!Token.isUnresolved(logGroupName) && (!logGroupName.startsWith(WAF_LOG_GROUP_PREFIX) || logGroupName.length > 512)) {
    problems.push(`logGroupName must start with '${WAF_LOG_GROUP_PREFIX}' and be at most 512 characters (WAF delivers only to such groups), got '${logGroupName}'`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid EdgeWebAcl props: ${problems.join('; ')}`);
  }
}
