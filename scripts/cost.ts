// `npm run cost`: writes docs/COST.md from the synthesized templates of every environment. Counts
// (instances, NAT gateways and NAT instances, database and cache nodes, endpoints, secrets, alarms)
// are read from the templates, so the table cannot drift from the stack; unit prices are the table
// below, each with its source. test/scripts/cost.test.ts fails when docs/COST.md differs from what
// this renders, and when dev at idle exceeds its goal.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../lib/app';
import { environments, FLEET_NAMES } from '../lib/config';
import { NAT_ROOT_VOLUME_GIB } from '../lib/construct/network';

const ROOT = join(__dirname, '..');
export const COST_PATH = join(ROOT, 'docs', 'COST.md');
const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;

/** Prices in USD, on-demand, Linux, us-west-2 (Oregon), as of PRICES_DATE. */
export const PRICES_DATE = '2026-11-28';
interface Price {
  readonly usd: number;
  readonly unit: string;
  /** 'quoted' when the number was read from an AWS pricing page through the search tool; 'estimate' otherwise. */
  readonly basis: 'quoted' | 'estimate';
  readonly source: string;
}
const VPC_PRICING = 'aws.amazon.com/vpc/pricing';
const ELB_PRICING = 'aws.amazon.com/elasticloadbalancing/pricing';
const EC2_PRICING = 'aws.amazon.com/ec2/pricing/on-demand';
const RDS_PRICING = 'aws.amazon.com/rds/aurora/pricing';
const CACHE_PRICING = 'aws.amazon.com/elasticache/pricing';
export const PRICES: Record<string, Price> = {
  natGatewayHour: { usd: 0.045, unit: 'NAT gateway-hour', basis: 'quoted', source: VPC_PRICING },
  natGatewayGb: { usd: 0.045, unit: 'GB processed', basis: 'quoted', source: VPC_PRICING },
  albHour: { usd: 0.0225, unit: 'ALB-hour', basis: 'quoted', source: ELB_PRICING },
  albLcuHour: { usd: 0.008, unit: 'LCU-hour', basis: 'quoted', source: ELB_PRICING },
  publicIpv4Hour: { usd: 0.005, unit: 'public IPv4 address-hour', basis: 'estimate', source: VPC_PRICING },
  interfaceEndpointHour: { usd: 0.01, unit: 'endpoint ENI-hour (per AZ)', basis: 'estimate', source: 'aws.amazon.com/privatelink/pricing' },
  'ec2:t4g.nano': { usd: 0.0042, unit: 'instance-hour', basis: 'estimate', source: EC2_PRICING },
  'ec2:t4g.small': { usd: 0.0168, unit: 'instance-hour', basis: 'estimate', source: EC2_PRICING },
  'ec2:t4g.micro': { usd: 0.0084, unit: 'instance-hour', basis: 'estimate', source: EC2_PRICING },
  'ec2:c7g.large': { usd: 0.0725, unit: 'instance-hour', basis: 'estimate', source: EC2_PRICING },
  ebsGp3GbMonth: { usd: 0.08, unit: 'GB-month gp3', basis: 'estimate', source: 'aws.amazon.com/ebs/pricing' },
  'rds:db.t4g.medium': { usd: 0.073, unit: 'Aurora instance-hour', basis: 'estimate', source: RDS_PRICING },
  'rds:db.r7g.large': { usd: 0.276, unit: 'Aurora instance-hour', basis: 'estimate', source: RDS_PRICING },
  'rds:serverlessV2Acu': { usd: 0.12, unit: 'Aurora Serverless v2 ACU-hour', basis: 'estimate', source: RDS_PRICING },
  'cache:cache.t4g.small': { usd: 0.032, unit: 'node-hour', basis: 'estimate', source: CACHE_PRICING },
  'cache:cache.t4g.micro': { usd: 0.016, unit: 'node-hour', basis: 'estimate', source: CACHE_PRICING },
  'cache:cache.r7g.large': { usd: 0.219, unit: 'node-hour', basis: 'estimate', source: CACHE_PRICING },
  secretMonth: { usd: 0.4, unit: 'secret-month', basis: 'estimate', source: 'aws.amazon.com/secrets-manager/pricing' },
  alarmMonth: { usd: 0.1, unit: 'standard alarm-month', basis: 'estimate', source: 'aws.amazon.com/cloudwatch/pricing' },
  dashboardMonth: { usd: 3, unit: 'dashboard-month', basis: 'estimate', source: 'aws.amazon.com/cloudwatch/pricing' },
  webAclMonth: { usd: 5, unit: 'web ACL-month', basis: 'estimate', source: 'aws.amazon.com/waf/pricing' },
  wafRuleMonth: { usd: 1, unit: 'rule-month', basis: 'estimate', source: 'aws.amazon.com/waf/pricing' },
  wafMillionRequests: { usd: 0.6, unit: 'million requests', basis: 'estimate', source: 'aws.amazon.com/waf/pricing' },
  cloudFrontTenThousandHttps: { usd: 0.01, unit: '10,000 HTTPS requests (North America)', basis: 'estimate', source: 'aws.amazon.com/cloudfront/pricing' },
  sqsMillionRequests: { usd: 0.4, unit: 'million requests', basis: 'estimate', source: 'aws.amazon.com/sqs/pricing' },
};

function price(key: string): Price {
  const p = PRICES[key];
  if (!p) throw new Error(`No unit price for ${key}: add it to PRICES in scripts/cost.ts`);
  return p;
}

export interface CostLine {
  readonly item: string;
  readonly count: number;
  readonly priceKey: string;
  /** Units per month per counted item (hours, GB, ...). */
  readonly unitsPerMonth: number;
}

type Resources = Record<string, { Type: string; Properties?: any }>;
const ofType = (resources: Resources, type: string) => Object.values(resources).filter((r) => r.Type === type);

/** Idle cost lines of one environment, counted from its two templates. */
export function idleLines(regional: Resources, waf: Resources): CostLine[] {
  const lines: CostLine[] = [];
  const launchTemplates = Object.fromEntries(Object.entries(regional).filter(([, r]) => r.Type === 'AWS::EC2::LaunchTemplate'));
  const byType = new Map<string, { instances: number; volumeGb: number }>();
  for (const group of ofType(regional, 'AWS::AutoScaling::AutoScalingGroup')) {
    const lt = launchTemplates[group.Properties.LaunchTemplate.LaunchTemplateId.Ref].Properties.LaunchTemplateData;
    const entry = byType.get(lt.InstanceType) ?? { instances: 0, volumeGb: 0 };
    const min = Number(group.Properties.MinSize);
    entry.instances += min;
    entry.volumeGb += min * lt.BlockDeviceMappings[0].Ebs.VolumeSize;
    byType.set(lt.InstanceType, entry);
  }
  for (const [type, { instances, volumeGb }] of byType) {
    lines.push({ item: `EC2 ${type} (fleet minimums)`, count: instances, priceKey: `ec2:${type}`, unitsPerMonth: HOURS_PER_MONTH });
    lines.push({ item: `EBS gp3 root volumes (GB, ${type} fleets)`, count: volumeGb, priceKey: 'ebsGp3GbMonth', unitsPerMonth: 1 });
  }
  const nat = ofType(regional, 'AWS::EC2::NatGateway').length;
  lines.push({ item: 'NAT gateways', count: nat, priceKey: 'natGatewayHour', unitsPerMonth: HOURS_PER_MONTH });
  const instances = standaloneInstances(regional);
  for (const { type, role, count, volumeGb } of instances.groups.values()) {
    lines.push({ item: `EC2 ${type} (${role})`, count, priceKey: `ec2:${type}`, unitsPerMonth: HOURS_PER_MONTH });
    lines.push({ item: `EBS gp3 root volumes (GB, ${type} ${role})`, count: volumeGb, priceKey: 'ebsGp3GbMonth', unitsPerMonth: 1 });
  }
  const albs = ofType(regional, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  lines.push({ item: 'Application Load Balancer', count: albs.length, priceKey: 'albHour', unitsPerMonth: HOURS_PER_MONTH });
  const albAzs = albs.reduce((n, alb) => n + alb.Properties.Subnets.length, 0);
  lines.push({
    item: 'Public IPv4 addresses (one per NAT gateway or NAT instance, one per ALB subnet)',
    count: nat + instances.publicIps + albAzs,
    priceKey: 'publicIpv4Hour',
    unitsPerMonth: HOURS_PER_MONTH,
  });
  const endpointEnis = ofType(regional, 'AWS::EC2::VPCEndpoint')
    .filter((e) => e.Properties.VpcEndpointType === 'Interface')
    .reduce((n, e) => n + e.Properties.SubnetIds.length, 0);
  lines.push({ item: 'Interface endpoint ENIs', count: endpointEnis, priceKey: 'interfaceEndpointHour', unitsPerMonth: HOURS_PER_MONTH });
  const dbByClass = new Map<string, number>();
  for (const db of ofType(regional, 'AWS::RDS::DBInstance')) dbByClass.set(db.Properties.DBInstanceClass, (dbByClass.get(db.Properties.DBInstanceClass) ?? 0) + 1);
  for (const [cls, n] of dbByClass) lines.push({ item: `Aurora PostgreSQL ${cls} (writer + readers)`, count: n, priceKey: `rds:${cls}`, unitsPerMonth: HOURS_PER_MONTH });
  for (const group of ofType(regional, 'AWS::ElastiCache::ReplicationGroup')) {
    const p = group.Properties;
    const nodes = p.NumCacheClusters ?? Number(p.NumNodeGroups ?? 1) * (Number(p.ReplicasPerNodeGroup ?? 0) + 1);
    lines.push({ item: `Valkey ${p.CacheNodeType} nodes`, count: nodes, priceKey: `cache:${p.CacheNodeType}`, unitsPerMonth: HOURS_PER_MONTH });
  }
  // The Aurora master secret is managed by RDS but billed like any secret.
  const secrets = ofType(regional, 'AWS::SecretsManager::Secret').length + ofType(regional, 'AWS::RDS::DBCluster').filter((c) => c.Properties.ManageMasterUserPassword).length;
  lines.push({ item: 'Secrets Manager secrets', count: secrets, priceKey: 'secretMonth', unitsPerMonth: 1 });
  lines.push({ item: 'CloudWatch alarms', count: ofType(regional, 'AWS::CloudWatch::Alarm').length + ofType(waf, 'AWS::CloudWatch::Alarm').length, priceKey: 'alarmMonth', unitsPerMonth: 1 });
  lines.push({ item: 'CloudWatch dashboards', count: ofType(regional, 'AWS::CloudWatch::Dashboard').length, priceKey: 'dashboardMonth', unitsPerMonth: 1 });
  const acls = ofType(waf, 'AWS::WAFv2::WebACL');
  lines.push({ item: 'WAF web ACLs', count: acls.length, priceKey: 'webAclMonth', unitsPerMonth: 1 });
  lines.push({ item: 'WAF rules', count: acls.reduce((n, a) => n + a.Properties.Rules.length, 0), priceKey: 'wafRuleMonth', unitsPerMonth: 1 });
  return lines.filter((l) => l.count > 0);
}

/**
 * EC2 instances outside the Auto Scaling groups, by type and role (a NAT instance has its
 * source/destination check off), with their root volumes and public addresses. The template must state
 * each root volume: its size otherwise comes from the image, which the template does not show.
 */
function standaloneInstances(regional: Resources) {
  const groups = new Map<string, { type: string; role: string; count: number; volumeGb: number }>();
  let publicIps = 0;
  for (const [id, instance] of Object.entries(regional).filter(([, r]) => r.Type === 'AWS::EC2::Instance')) {
    const p = instance.Properties;
    const volumes: unknown[] = (p.BlockDeviceMappings ?? []).map((m: { Ebs?: { VolumeSize?: unknown } }) => m.Ebs?.VolumeSize);
    if (volumes.length === 0 || !volumes.every((size) => typeof size === 'number')) {
      throw new Error(`EC2 instance ${id} does not state its EBS volume sizes (BlockDeviceMappings[].Ebs.VolumeSize): its storage cost cannot be counted`);
    }
    const role = p.SourceDestCheck === false ? 'NAT instances' : 'standalone instances';
    const key = `${p.InstanceType} ${role}`;
    const entry = groups.get(key) ?? { type: p.InstanceType, role, count: 0, volumeGb: 0 };
    entry.count += 1;
    entry.volumeGb += (volumes as number[]).reduce((a, b) => a + b, 0);
    groups.set(key, entry);
    if ((p.NetworkInterfaces ?? []).some((nic: { AssociatePublicIpAddress?: boolean }) => nic.AssociatePublicIpAddress === true)) publicIps += 1;
  }
  return { groups, publicIps };
}

/** Request-driven cost of 1,000 requests per second sustained for a month (instances excluded: see the note). */
export function perThousandRpsLines(): CostLine[] {
  const requests = 1000 * SECONDS_PER_MONTH;
  return [
    { item: 'CloudFront HTTPS requests', count: requests / 10_000, priceKey: 'cloudFrontTenThousandHttps', unitsPerMonth: 1 },
    { item: 'WAF requests', count: requests / 1_000_000, priceKey: 'wafMillionRequests', unitsPerMonth: 1 },
    // 1,000 rule evaluations/s is one LCU; new connections stay low behind CloudFront's keep-alive.
    { item: 'ALB LCUs (rule evaluations)', count: 1, priceKey: 'albLcuHour', unitsPerMonth: HOURS_PER_MONTH },
    // Roughly one order in 20 requests, each order ~6 SQS calls (send, receive, delete on two queues).
    { item: 'SQS requests (1 order per 20 requests)', count: (requests / 20) * 6 / 1_000_000, priceKey: 'sqsMillionRequests', unitsPerMonth: 1 },
  ];
}

const money = (usd: number) => `$${usd.toFixed(2)}`;
/** Monthly cost of the lines, in USD. */
export const total = (lines: readonly CostLine[]) => lines.reduce((sum, l) => sum + l.count * l.unitsPerMonth * price(l.priceKey).usd, 0);
/** Monthly cost of `count` of one hourly-priced thing running all month. */
const monthly = (priceKey: string, count = 1) => count * HOURS_PER_MONTH * price(priceKey).usd;
const gbMonth = (gb: number) => gb * price('ebsGp3GbMonth').usd;

function table(lines: readonly CostLine[]): string[] {
  const rows = lines.map((l) => {
    const p = price(l.priceKey);
    const count = Number.isInteger(l.count) ? String(l.count) : l.count.toFixed(1);
    return `| ${l.item} | ${count} | $${String(p.usd)} / ${p.unit} (${p.basis}, ${p.source}) | ${money(l.count * l.unitsPerMonth * p.usd)} |`;
  });
  return ['| resource | count | unit price | per month |', '|---|---:|---|---:|', ...rows, `| **total** | | | **${money(total(lines))}** |`];
}

/** Dev's idle goal from the shipping issue. */
export const DEV_IDLE_GOAL_USD = 150;

export function renderCostDoc(templates: Record<string, { regional: Resources; waf: Resources; region: string }>): string {
  const out = [
    '# Cost per environment',
    '',
    `Generated by \`npm run cost\` from the synthesized templates (do not edit by hand; \`test/scripts/cost.test.ts\` fails when this file drifts from the stack). Prices: USD, on-demand, Linux, as of ${PRICES_DATE}, for each environment's region; 730 hours a month.`,
    'A price marked **quoted** was read from the AWS pricing page named below through the search tool (those pages show US examples; us-west-2 matches them); **estimate** means the number is from the AWS price list as remembered, not re-read: check it at the source before relying on it.',
    '',
  ];
  for (const [envName, { regional, waf, region }] of Object.entries(templates)) {
    const idle = idleLines(regional, waf);
    out.push(`## ${envName} (${region})`, '', `### At idle (every fleet at its minimum): ${money(total(idle))} a month`, '', ...table(idle), '');
    if (envName === 'dev') {
      const verdict = total(idle) <= DEV_IDLE_GOAL_USD ? 'meets' : 'does NOT meet';
      out.push(`Dev's idle goal is at most ${money(DEV_IDLE_GOAL_USD)} a month: this configuration ${verdict} it.`, '');
    }
  }
  const rps = perThousandRpsLines();
  out.push(
    '## Per 1,000 sustained requests per second (any environment)',
    '',
    `Added to the idle cost, for ${(1000 * SECONDS_PER_MONTH / 1e9).toFixed(2)} billion requests a month: ${money(total(rps))}. Data transfer out (about $0.085/GB from CloudFront) comes on top and depends on response sizes.`,
    'Instances are not in this line: how many a fleet needs for 1,000 req/s comes from `npm run capacity` (perf/), and the fleets scale on request count.',
    '',
    ...table(rps),
    '',
    ...devChoices(),
  );
  return out.join('\n');
}

/**
 * "What keeps dev cheap": each choice in lib/config/dev.ts, what it saves (from the price table above,
 * so the figures cannot disagree with it) and what dev gives up for it.
 */
function devChoices(): string[] {
  const dev = environments.dev;
  const natType = dev.network.natInstanceType ?? 'none';
  const natInstance = monthly(`ec2:${natType}`) + gbMonth(NAT_ROOT_VOLUME_GIB);
  const fleetMinimums = FLEET_NAMES.map((name) => dev.fleets[name]);
  const fleetTypes = [...new Set(fleetMinimums.map((f) => f.instanceType))].join(', ');
  const fleetVolumes = [...new Set(fleetMinimums.map((f) => f.volumeSizeGiB))].join(', ');
  const smallFleets = fleetMinimums.reduce((sum, f) => sum + f.minCapacity * (monthly('ec2:t4g.small') + gbMonth(20)), 0);
  const devFleets = fleetMinimums.reduce((sum, f) => sum + f.minCapacity * (monthly(`ec2:${f.instanceType}`) + gbMonth(f.volumeSizeGiB)), 0);
  const dbInstance = monthly(`rds:db.${dev.database.instanceClass}`);
  const cacheNodes = dev.cache.shards * (dev.cache.replicasPerShard + 1);
  const cacheNode = monthly(`cache:${dev.cache.nodeType}`);
  const serviceFleetType = dev.fleets.user.instanceType;
  return [
    '## What keeps dev cheap, and what each choice saves',
    '',
    'Each choice is set in `lib/config/dev.ts`; prod keeps the managed, highly available form of each.',
    '',
    `- **One NAT instance (${natType})** instead of a NAT gateway: ${money(natInstance)} a month with its ${NAT_ROOT_VOLUME_GIB} GB root volume against ${money(monthly('natGatewayHour'))}, and no $${price('natGatewayGb').usd}/GB processing charge: saves ${money(monthly('natGatewayHour') - natInstance)}. Gives up the managed gateway: egress is capped by the instance (network bandwidth and CPU credits of a ${natType}), stops if it fails until EC2's automatic recovery restarts it, and pauses for a minute or two when a deployment picks up a new Amazon Linux image (the instance is replaced). It is also one instance for both AZs, as the single NAT gateway was: an outage of its AZ cuts the other AZ's egress.`,
    `- **No interface endpoints**: each costs ${money(monthly('interfaceEndpointHour'))} a month per AZ; dev's AWS API traffic goes through the NAT instance instead.`,
    `- **${fleetTypes} fleets at one instance each, with ${fleetVolumes} GB root volumes**: ${money(devFleets)} a month for the four minimums against ${money(smallFleets)} for t4g.small with 20 GB: saves ${money(smallFleets - devFleets)}. Gives up headroom: 1 GiB of memory holds the two service processes node:cluster starts (one per vCPU, about 110-185 MB each under load) and the CloudWatch and SSM agents, with little to spare for a leak; the CPU baseline is half a t4g.small's, so sustained load tests use up CPU credits sooner (unlimited mode then bills the surplus); ${fleetVolumes} GB is the Amazon Linux 2023 image's own size, the smallest a volume can be, leaving about 5 GB after the system, Node and the agents for logs, which are shipped to CloudWatch and rotated.`,
    `- **Aurora writer only** (\`database.readers: ${dev.database.readers}\`): saves ${money(dbInstance)} for each db.${dev.database.instanceClass} reader. Gives up the reader: the reader endpoint then resolves to the writer (AWS documents this), so dev never shows replica lag, and a write sent by mistake to the reader pool succeeds in dev where prod refuses it; replica lag has no alarm or graph in dev; a writer failure has no reader to promote, so Aurora creates a new writer instead of failing over (\`npm run failover -- --env dev aurora\` does not exercise a promotion).`,
    `- **Valkey on ${dev.cache.nodeType}** with ${dev.cache.replicasPerShard} replica: ${money(cacheNode * cacheNodes)} a month for ${cacheNodes} nodes against ${money(monthly('cache:cache.t4g.small', cacheNodes))} for cache.t4g.small: saves ${money(monthly('cache:cache.t4g.small', cacheNodes) - cacheNode * cacheNodes)}. The replica stays so that Multi-AZ automatic failover is deployed and can be drilled in dev; the node has 0.5 GiB of memory instead of 1.37 GiB.`,
    '',
    'Further savings not applied, each trading away more of what dev exercises:',
    '',
    `- **One Valkey node** (no replica): saves ${money(cacheNode * dev.cache.replicasPerShard)}. Automatic failover (and Multi-AZ with it) needs a replica to promote (ElastiCache wants at least 2 nodes when it is on), so dev would no longer exercise the failover the services must survive in prod; the cache construct, its config validation and the preflight's cache checks all require a replica today.`,
    `- **Scheduled scale-in at night**: the three service fleets at 0 for 12 hours a day save about ${money(monthly(`ec2:${serviceFleetType}`, 3) / 2)} (the worker fleet keeps one instance: it divides the queue backlog by in-service instances). Small next to the database, cache, load balancer and NAT, which run around the clock, and the first request of the morning finds no instance.`,
    `- **Aurora Serverless v2** at its 0.5 ACU minimum: ${money(monthly('rds:serverlessV2Acu', 0.5))} a month against ${money(dbInstance)} for the db.${dev.database.instanceClass} writer, with about 1 GiB of memory instead of 4. Its auto-pause (0 ACU) needs the database to have no connections, which the fleets' connection pools never allow while they run.`,
    '',
  ];
}

/** Synthesizes every environment the way `cdk synth -c env=<name>` does and renders the document. */
export function costDocFromApp(): string {
  const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
  const templates: Record<string, { regional: Resources; waf: Resources; region: string }> = {};
  for (const envName of Object.keys(environments)) {
    const surge = createApp({ ...context, env: envName });
    templates[envName] = {
      regional: Template.fromStack(surge.stack).toJSON().Resources,
      waf: Template.fromStack(surge.wafStack).toJSON().Resources,
      region: surge.config.region,
    };
  }
  return renderCostDoc(templates);
}

if (require.main === module) {
  writeFileSync(COST_PATH, costDocFromApp());
  console.log(`wrote ${COST_PATH}`);
}
