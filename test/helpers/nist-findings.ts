// The NIST 800-53 rev 5 findings that remain on Surge, rendered as docs/NIST-FINDINGS.md. Each
// rule carries the reason it stays open; test/nag.test.ts fails when the findings change and the
// document was not regenerated (`npx tsx test/helpers/nist-findings.ts`), or when a new rule has no
// reason written here.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NIST80053R5Checks } from 'cdk-nag';
import { buildSurgeApp } from './app';

export const NIST_FINDINGS_PATH = join(__dirname, '..', '..', 'docs', 'NIST-FINDINGS.md');

/** Why each remaining rule is open, and what would close it. */
export const WHY_OPEN: Record<string, string> = {
  'CloudWatchLogGroupEncrypted': 'Log groups use CloudWatch Logs\' default encryption, not a customer managed KMS key. Close it with one KMS key per stack granted to logs.<region>.amazonaws.com.',
  'VPCSubnetAutoAssignPublicIpDisabled': 'The public subnets hold only the ALB and the NAT gateways (dev: a NAT instance); the fleets run in private subnets. CDK sets MapPublicIpOnLaunch on public subnets.',
  'VPCNoUnrestrictedRouteToIGW': 'The public subnets need 0.0.0.0/0 to the internet gateway: the ALB is internet-facing (reachable only from CloudFront by security group) and the NAT gateways (dev: a NAT instance) route egress.',
  'EC2InstanceNoPublicIp': 'Dev\'s NAT instance: translating the private subnets\' egress to a public address is its job. Its security group admits TCP from the VPC only; prod uses managed NAT gateways.',
  'EC2InstancesInVPC': 'Dev\'s NAT instance is in the VPC\'s public subnet, named in its network interface (needed to give it a public address); the rule only reads the instance-level SubnetId.',
  'IAMNoInlinePolicy': 'CDK grants (queue, secret, flow-log delivery, the storefront deployment handler) render as inline default policies on the role they belong to; they are least-privilege and scoped to one resource each.',
  'ALBWAFEnabled': 'The web ACL protects the CloudFront distribution, which is the ALB\'s only client (prefix list + secret header); a second regional web ACL on the ALB would double WAF cost for no extra coverage.',
  'ELBDeletionProtectionEnabled': 'Dev only: dev tears down freely. Prod turns deletion protection on.',
  'ALBHttpToHttpsRedirection': 'Dev only: without a configured domain, CloudFront reaches the ALB over HTTP because no certificate can cover *.elb.amazonaws.com. Prod-like environments must configure `domain` (validateConfig), which gives an HTTPS listener with HTTP redirected.',
  'ELBv2ACMCertificateRequired': 'Dev: the routes live on the HTTP listener (no domain), same cause as ALBHttpToHttpsRedirection. Prod: only the port-80 listener, which serves nothing and redirects every request to HTTPS.',
  'LambdaConcurrency': 'Three Lambdas, all run by CloudFormation during a deployment, none with traffic to bound: the migration step reserves no concurrency (reserving any fails the deployment in accounts still at the new-account Lambda quota of 10; its runs serialise on a PostgreSQL advisory lock), the token key publisher (one run, which writes the same keys if repeated), and the CDK\'s BucketDeployment handler (storefront upload).',
  'LambdaDLQ': 'The Lambdas (the migration step, the token key publisher and the storefront\'s BucketDeployment handler) are invoked synchronously during a deployment, and a failure fails (and rolls back) the deployment; there is no asynchronous event to dead-letter.',
  'S3BucketLoggingEnabled': 'The ALB access-log bucket itself; logging access to a log bucket would need a further bucket.',
  'S3BucketReplicationEnabled': 'Log and static-asset buckets are not replicated cross-region; static assets are rebuilt from the repository and logs are regional evidence.',
  'S3BucketVersioningEnabled': 'Log buckets expire objects by lifecycle and static assets are redeployed from the repository; versioning would keep deleted copies nobody restores.',
  'S3DefaultEncryptionKMS': 'Buckets use SSE-S3: ALB and CloudFront log delivery support only SSE-S3, and the static bucket is public content served through CloudFront.',
  'SecretsManagerRotationEnabled': 'The origin header secret is copied into CloudFront and the listener rules at deploy time (rotate by redeploying); the Valkey AUTH token rotation needs a rotation Lambda not built yet. The login-token signing key is rotated by `npm run rotate-token-key` (the previous key still verifies, so no one is logged out), which also rewrites the token public keys parameter. The Aurora master secret is rotated by RDS.',
  'SecretsManagerUsingKMSKey': 'Secrets use the AWS managed aws/secretsmanager key; a customer managed key adds cost and key-policy work for no change in who can read them (IAM grants).',
  'SNSEncryptedKMS': 'The fleet-events and alarm topics carry instance IDs and alarm states; a customer managed key must name the Auto Scaling service-linked role and CloudWatch in its policy.',
  'RDSInstanceDeletionProtectionEnabled': 'Dev only: the dev cluster is destroyable. Prod has deletion protection and a final snapshot.',
  'RDSEnhancedMonitoringEnabled': 'Enhanced Monitoring (OS metrics at 1-60 s) is not turned on; CloudWatch cluster metrics (CPU, connections, replica lag) cover the dashboard.',
  'RDSInBackupPlan': 'Aurora automated backups (7 days dev, 14 prod, point-in-time restore) are used instead of an AWS Backup plan.',
  'LambdaInsideVPC': 'The BucketDeployment handler talks only to S3 and CloudFront APIs during deployments, the token key publisher only to Secrets Manager and SSM; putting them in the VPC would need NAT or interface endpoints for no data they could reach there.',
  'ElastiCacheRedisClusterAutomaticBackup': 'The rule wants 15+ days of snapshots; the cache holds data rebuilt from Aurora, so 1 day (dev) / 7 days (prod) is kept.',
};

export interface NistFinding {
  readonly rule: string;
  readonly resources: readonly string[];
}

/** Unacknowledged NIST 800-53 rev 5 findings on the whole app for one environment. */
export function nistFindings(envName: string): NistFinding[] {
  const { app } = buildSurgeApp(envName);
  const report = new NIST80053R5Checks(app).validateScope(app);
  return report.violations
    .map((v) => ({ rule: v.ruleName.replace(/^NIST\.800\.53\.R5-/, ''), resources: v.violatingResources.map((r) => r.constructPath ?? '').sort() }))
    .sort((a, b) => a.rule.localeCompare(b.rule));
}

export function renderNistFindings(byEnv: Record<string, NistFinding[]>): string {
  const lines = [
    '# NIST 800-53 rev 5 findings (cdk-nag) that remain open',
    '',
    'Generated by `npx tsx test/helpers/nist-findings.ts`; `test/nag.test.ts` fails when this file is stale.',
    'AwsSolutions has zero unacknowledged findings (acknowledgments live next to each resource); the NIST',
    'pack is informational and these are the rules still open, with the reason each stays open.',
    '',
  ];
  for (const [envName, findings] of Object.entries(byEnv)) {
    lines.push(`## ${envName} (${findings.length} rules)`, '', '| rule | resources | why it is open |', '|---|---|---|');
    for (const f of findings) {
      lines.push(`| ${f.rule} | ${f.resources.map((r) => `\`${r}\``).join('<br>')} | ${WHY_OPEN[f.rule] ?? 'NOT REVIEWED'} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (require.main === module) {
  writeFileSync(NIST_FINDINGS_PATH, renderNistFindings({ dev: nistFindings('dev'), prod: nistFindings('prod') }));
  console.log(`wrote ${NIST_FINDINGS_PATH}`);
}
