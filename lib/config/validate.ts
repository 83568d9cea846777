// Validation of a SurgeConfig: every rule is checked, every problem is collected, and one error
// lists them all, each naming the field and the value received, so a fork fixes its config in one pass.
import { FLEET_NAMES, INTERFACE_ENDPOINT_NAMES, SERVICE_NAMES, type SurgeConfig } from './types';

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/** The evaluation windows (seconds) AWS WAF accepts for a rate-based rule. */
export const WAF_EVALUATION_WINDOWS_SECONDS: readonly number[] = [60, 120, 300, 600];
/** AWS WAF's documented bounds for a rate-based rule's limit (requests per evaluation window). */
export const WAF_RATE_LIMIT_MIN = 10;
export const WAF_RATE_LIMIT_MAX = 2_000_000_000;
/** SQS's maximum visibility timeout; the queues derive theirs from the handler timeout. */
const SQS_MAX_VISIBILITY_SECONDS = 43_200;
/** The services' HTTP keep-alive timeout (services/platform/server.ts). */
const SERVICE_KEEP_ALIVE_SECONDS = 70;
const EC2_INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ConfigError extends Error {
  constructor(envName: string, readonly problems: readonly string[]) {
    super(`Invalid Surge config '${envName}':\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The services' own upper bound on RATE_LIMIT_* values (services/platform/config.ts). */
const RATE_LIMIT_MAX = 1_000_000;
const MIN_DEREGISTRATION_DELAY_SECONDS = 15;

/** Prod-like: keeps its data (retainData) or is called prod. Such an environment must serve HTTPS end to end. */
export function isProductionLike(config: Pick<SurgeConfig, 'envName' | 'retainData'>): boolean {
  return config.retainData || config.envName === 'prod';
}

/** Throws a ConfigError listing every problem in `config`; returns it unchanged when valid. */
export function validateConfig(config: SurgeConfig): SurgeConfig {
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const show = (v: unknown) => JSON.stringify(v);
  const isInt = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= min && v <= max;

  check(/^[a-z][a-z0-9-]{0,19}$/.test(config.envName), `envName ${show(config.envName)} must be lowercase letters, digits and hyphens (max 20)`);
  check(config.account === undefined || /^\d{12}$/.test(config.account), `account ${show(config.account)} must be 12 digits`);
  check(/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(config.region), `region ${show(config.region)} is not an AWS region name`);

  const azs = config.availabilityZones;
  check(azs.length >= 2, `availabilityZones ${show(azs)} must list at least 2 zones`);
  check(new Set(azs).size === azs.length, `availabilityZones ${show(azs)} must not repeat a zone`);
  for (const az of azs) {
    check(az.startsWith(config.region) && /^[a-z]$/.test(az.slice(config.region.length)), `availabilityZones entry ${show(az)} is not a zone of region ${show(config.region)}`);
  }

  const { network } = config;
  const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(network.cidr);
  check(
    cidr !== null && cidr.slice(1, 5).every((o) => Number(o) <= 255) && Number(cidr[5]) >= 16 && Number(cidr[5]) <= 17,
    `network.cidr ${show(network.cidr)} must be an IPv4 CIDR of /16 or /17 (each AZ takes a /20 private subnet and two /24s)`,
  );
  check(isInt(network.natGateways, 1, azs.length), `network.natGateways ${show(network.natGateways)} must be between 1 and the number of availabilityZones (${azs.length})`);
  check(network.natInstanceType === undefined || EC2_INSTANCE_TYPE.test(network.natInstanceType), `network.natInstanceType ${show(network.natInstanceType)} is not an EC2 instance type`);
  for (const endpoint of network.interfaceEndpoints) {
    check(INTERFACE_ENDPOINT_NAMES.includes(endpoint), `network.interfaceEndpoints entry ${show(endpoint)} must be one of ${INTERFACE_ENDPOINT_NAMES.join(', ')}`);
  }
  check(LOG_RETENTION_DAYS.includes(network.flowLogRetentionDays), `network.flowLogRetentionDays ${show(network.flowLogRetentionDays)} must be a CloudWatch Logs retention value (${LOG_RETENTION_DAYS.join(', ')})`);

  if (config.domain) {
    const { domain } = config;
    check(domain.domainNames.length > 0, `domain.domainNames ${show(domain.domainNames)} must name at least one domain`);
    check(/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/.+$/.test(domain.cloudFrontCertificateArn), `domain.cloudFrontCertificateArn ${show(domain.cloudFrontCertificateArn)} must be an ACM certificate ARN in us-east-1`);
    check(new RegExp(`^arn:aws[a-z-]*:acm:${config.region}:\\d{12}:certificate/.+$`).test(domain.loadBalancerCertificateArn), `domain.loadBalancerCertificateArn ${show(domain.loadBalancerCertificateArn)} must be an ACM certificate ARN in ${config.region}`);
    check(/^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain.originDomainName), `domain.originDomainName ${show(domain.originDomainName)} must be a DNS name`);
  }

  // Without a domain, CloudFront reaches the ALB over HTTP: fine for dev, never silently for prod.
  if (isProductionLike(config)) {
    check(
      config.domain !== undefined || config.allowHttpOrigin !== undefined,
      `domain is required in a prod-like environment (retainData true or named prod): without it CloudFront sends passwords, tokens and the origin-verify header to the ALB over HTTP and viewers may use TLSv1. Set domain, or for a demo set allowHttpOrigin: { reason: '...' }`,
    );
  }
  if (config.allowHttpOrigin !== undefined) {
    check(config.domain === undefined, 'allowHttpOrigin is set but so is domain: remove allowHttpOrigin (the domain gives HTTPS end to end)');
    check(config.allowHttpOrigin.reason.trim().length >= 20, `allowHttpOrigin.reason ${show(config.allowHttpOrigin.reason)} must say why (at least 20 characters)`);
  }

  const lb = config.loadBalancer;
  check(/^pl-[0-9a-f]{8,17}$/.test(lb.cloudFrontPrefixListId), `loadBalancer.cloudFrontPrefixListId ${show(lb.cloudFrontPrefixListId)} must be a prefix list ID (pl-...)`);
  // The services keep idle connections open 70 s; an ALB that outwaits them gets resets (502s).
  check(isInt(lb.idleTimeoutSeconds, 1, SERVICE_KEEP_ALIVE_SECONDS - 1), `loadBalancer.idleTimeoutSeconds ${show(lb.idleTimeoutSeconds)} must be 1-${SERVICE_KEEP_ALIVE_SECONDS - 1} (below the services' ${SERVICE_KEEP_ALIVE_SECONDS} s keep-alive)`);
  check(isInt(lb.deregistrationDelaySeconds, 0, 3600), `loadBalancer.deregistrationDelaySeconds ${show(lb.deregistrationDelaySeconds)} must be 0-3600`);
  check(lb.slowStartSeconds === 0 || isInt(lb.slowStartSeconds, 30, 900), `loadBalancer.slowStartSeconds ${show(lb.slowStartSeconds)} must be 0 (off) or 30-900`);
  check(isInt(lb.accessLogRetentionDays, 1), `loadBalancer.accessLogRetentionDays ${show(lb.accessLogRetentionDays)} must be a whole number of days >= 1`);

  for (const name of FLEET_NAMES) {
    const fleet = config.fleets[name];
    const at = `fleets.${name}`;
    check(EC2_INSTANCE_TYPE.test(fleet.instanceType), `${at}.instanceType ${show(fleet.instanceType)} is not an EC2 instance type`);
    // The worker divides the backlog by in-service instances, so it keeps at least one.
    const minFloor = name === 'worker' ? 1 : 0;
    check(isInt(fleet.minCapacity, minFloor), `${at}.minCapacity ${show(fleet.minCapacity)} must be a whole number >= ${minFloor}`);
    check(isInt(fleet.maxCapacity, 1), `${at}.maxCapacity ${show(fleet.maxCapacity)} must be a whole number >= 1`);
    check(fleet.minCapacity <= fleet.maxCapacity, `${at}.minCapacity (${fleet.minCapacity}) must not exceed maxCapacity (${fleet.maxCapacity})`);
    check(fleet.cpuTargetPercent > 0 && fleet.cpuTargetPercent <= 100, `${at}.cpuTargetPercent ${show(fleet.cpuTargetPercent)} must be above 0 and at most 100`);
    check(isInt(fleet.volumeSizeGiB, 8, 16384), `${at}.volumeSizeGiB ${show(fleet.volumeSizeGiB)} must be 8-16384 (the AMI's snapshot is 8 GiB)`);
    check(isInt(fleet.healthCheckGraceSeconds, 0, 7200), `${at}.healthCheckGraceSeconds ${show(fleet.healthCheckGraceSeconds)} must be 0-7200`);
  }
  for (const name of SERVICE_NAMES) {
    const rate = config.fleets[name].requestsPerTargetPerMinute;
    check(rate > 0, `fleets.${name}.requestsPerTargetPerMinute ${show(rate)} must be above 0`);
  }
  check(config.fleets.worker.backlogPerInstance > 0, `fleets.worker.backlogPerInstance ${show(config.fleets.worker.backlogPerInstance)} must be above 0`);

  const names = new Set<string>();
  const waitingRoomProducts = new Map<string, string>();
  for (const event of config.saleEvents) {
    const at = `saleEvents[${show(event.name)}]`;
    check(/^[A-Za-z0-9-]{1,64}$/.test(event.name), `${at}.name must be 1-64 letters, digits or hyphens`);
    check(!names.has(event.name), `${at}.name is used by more than one sale event`);
    names.add(event.name);
    const start = Date.parse(event.start);
    const end = Date.parse(event.end);
    check(ISO_UTC.test(event.start) && !Number.isNaN(start), `${at}.start ${show(event.start)} must be an ISO 8601 UTC time like 2027-11-26T08:00:00Z`);
    check(ISO_UTC.test(event.end) && !Number.isNaN(end), `${at}.end ${show(event.end)} must be an ISO 8601 UTC time like 2027-11-27T08:00:00Z`);
    check(Number.isNaN(start) || Number.isNaN(end) || end > start, `${at} ends (${event.end}) before it starts (${event.start})`);
    check(event.prewarmMinutes === undefined || isInt(event.prewarmMinutes, 0, 1440), `${at}.prewarmMinutes ${show(event.prewarmMinutes)} must be 0-1440`);
    check(isInt(event.minCapacity, 1), `${at}.minCapacity ${show(event.minCapacity)} must be a whole number >= 1`);
    for (const name of FLEET_NAMES) {
      const max = config.fleets[name].maxCapacity;
      check(event.minCapacity <= max, `${at}.minCapacity (${event.minCapacity}) exceeds fleets.${name}.maxCapacity (${max})`);
    }
    const room = event.waitingRoom;
    if (room) {
      check(room.productIds.length > 0, `${at}.waitingRoom.productIds must name at least one product`);
      for (const id of room.productIds) {
        check(UUID.test(id), `${at}.waitingRoom.productIds ${show(id)} must be a product id (UUID)`);
        const other = waitingRoomProducts.get(id.toLowerCase());
        check(other === undefined, `${at}.waitingRoom.productIds ${show(id)} is already in sale event ${show(other)}`);
        waitingRoomProducts.set(id.toLowerCase(), event.name);
      }
      check(isInt(room.inletPerSecond, 1, 100000), `${at}.waitingRoom.inletPerSecond ${show(room.inletPerSecond)} must be a whole number from 1 to 100000`);
      check(room.title === undefined || (room.title.length > 0 && room.title.length <= 200), `${at}.waitingRoom.title must be 1-200 characters`);
    }
  }

  const db = config.database;
  check(/^[a-z][a-z0-9]*\.[a-z0-9]+$/.test(db.instanceClass) && !db.instanceClass.startsWith('db.'), `database.instanceClass ${show(db.instanceClass)} must be an instance class without the db. prefix, e.g. r7g.large`);
  check(isInt(db.readers, 0, 15), `database.readers ${show(db.readers)} must be a whole number from 0 to 15`);
  check(isInt(db.backupRetentionDays, 7, 35), `database.backupRetentionDays ${show(db.backupRetentionDays)} must be 7-35`);

  const cache = config.cache;
  check(/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(cache.nodeType), `cache.nodeType ${show(cache.nodeType)} must be an ElastiCache node type like cache.r7g.large`);
  check(isInt(cache.shards, 1, 90), `cache.shards ${show(cache.shards)} must be 1-90`);
  check(cache.clusterMode || cache.shards === 1, `cache.shards ${show(cache.shards)} needs cache.clusterMode true (without cluster mode there is one shard)`);
  check(isInt(cache.replicasPerShard, 1, 5), `cache.replicasPerShard ${show(cache.replicasPerShard)} must be 1-5 (automatic failover needs a replica)`);
  check(isInt(cache.snapshotRetentionDays, 1, 35), `cache.snapshotRetentionDays ${show(cache.snapshotRetentionDays)} must be 1-35`);

  const queues = config.queues;
  check(isInt(queues.maxReceiveCount, 1, 1000), `queues.maxReceiveCount ${show(queues.maxReceiveCount)} must be 1-1000`);
  check(isInt(queues.handlerTimeoutSeconds, 1, SQS_MAX_VISIBILITY_SECONDS / 2), `queues.handlerTimeoutSeconds ${show(queues.handlerTimeoutSeconds)} must be 1-${SQS_MAX_VISIBILITY_SECONDS / 2} (the visibility timeout is twice it, at most 12 hours)`);
  check(isInt(queues.oldestMessageAlarmSeconds, 60), `queues.oldestMessageAlarmSeconds ${show(queues.oldestMessageAlarmSeconds)} must be a whole number >= 60`);

  const waf = config.waf;
  check(isInt(waf.rateLimit, WAF_RATE_LIMIT_MIN, WAF_RATE_LIMIT_MAX), `waf.rateLimit ${show(waf.rateLimit)} must be a whole number from ${WAF_RATE_LIMIT_MIN} to ${WAF_RATE_LIMIT_MAX} (AWS WAF's bounds)`);
  check(WAF_EVALUATION_WINDOWS_SECONDS.includes(waf.evaluationWindowSeconds), `waf.evaluationWindowSeconds ${show(waf.evaluationWindowSeconds)} must be one of ${WAF_EVALUATION_WINDOWS_SECONDS.join(', ')}`);

  const limits = config.rateLimits;
  for (const key of ['ordersPerMinute', 'loginPerMinute', 'loginAccountPerMinute', 'registerPerMinute', 'defaultPerSecond', 'defaultBurst'] as const) {
    check(isInt(limits[key], 1, RATE_LIMIT_MAX), `rateLimits.${key} ${show(limits[key])} must be a whole number from 1 to ${RATE_LIMIT_MAX}`);
  }
  check(limits.defaultBurst >= limits.defaultPerSecond, `rateLimits.defaultBurst (${limits.defaultBurst}) must be at least defaultPerSecond (${limits.defaultPerSecond}), or a client could never use its full rate`);
  // The services drain after SIGTERM for SHUTDOWN_DEADLINE_MS = deregistration delay - 10 s.
  check(lb.deregistrationDelaySeconds >= MIN_DEREGISTRATION_DELAY_SECONDS, `loadBalancer.deregistrationDelaySeconds ${show(lb.deregistrationDelaySeconds)} must be at least ${MIN_DEREGISTRATION_DELAY_SECONDS} (the services' drain deadline is 10 s below it and needs at least 5 s)`);

  const obs = config.observability;
  check(LOG_RETENTION_DAYS.includes(obs.logRetentionDays), `observability.logRetentionDays ${show(obs.logRetentionDays)} must be a CloudWatch Logs retention value (${LOG_RETENTION_DAYS.join(', ')})`);
  check(obs.alarmEmail === undefined || /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(obs.alarmEmail), `observability.alarmEmail ${show(obs.alarmEmail)} is not an email address`);

  if (problems.length > 0) throw new ConfigError(config.envName, problems);
  return config;
}
