// Config validation: the shipped environments are valid, and each rule rejects a bad value with a
// message naming the field and the value.
import { configFor, ConfigError, validateConfig } from '../../lib/config';
import { dev } from '../../lib/config/dev';
import { prod } from '../../lib/config/prod';
import { writableCopy } from '../helpers/app';

describe('shipped environments', () => {
  test.each(['dev', 'prod'])('%s is valid', (name) => {
    expect(configFor(name).envName).toBe(name);
  });

  test('an unknown environment names the known ones', () => {
    expect(() => configFor('staging')).toThrow(/Unknown environment "staging".*dev, prod/);
    expect(() => configFor('toString')).toThrow(/Unknown environment "toString"/);
  });

  test('prod spans three AZs with a NAT gateway each; dev two with one NAT instance', () => {
    expect(prod.availabilityZones).toHaveLength(3);
    expect(prod.network.natGateways).toBe(3);
    expect(prod.network.natInstanceType).toBeUndefined();
    expect(dev.availabilityZones).toHaveLength(2);
    expect(dev.network.natGateways).toBe(1);
    expect(dev.network.natInstanceType).toBe('t4g.nano');
  });

  test('both environments pass the issue\'s rate limits to the services', () => {
    for (const config of [dev, prod]) {
      expect(config.rateLimits).toEqual({ ordersPerMinute: 20, loginPerMinute: 10, loginAccountPerMinute: 10, registerPerMinute: 5, defaultPerSecond: 50, defaultBurst: 100 });
    }
  });

  test('prod ships one sample sale event and at least one Aurora reader', () => {
    expect(prod.saleEvents).toHaveLength(1);
    expect(prod.database.readers).toBeGreaterThanOrEqual(1);
  });
});

describe('HTTPS end to end in prod-like environments', () => {
  const withoutDomain = (base: typeof prod | typeof dev) => {
    const config = writableCopy(base);
    delete config.domain;
    return config;
  };

  test('prod ships with a domain, so CloudFront reaches the ALB over HTTPS', () => {
    expect(prod.domain).toBeDefined();
    expect(prod.allowHttpOrigin).toBeUndefined();
  });

  test('refuses prod without a domain, naming the risk and the opt-out', () => {
    expect(() => validateConfig(withoutDomain(prod))).toThrow(ConfigError);
    expect(() => validateConfig(withoutDomain(prod))).toThrow(/domain is required in a prod-like environment.*passwords, tokens and the origin-verify header.*allowHttpOrigin/);
  });

  test('refuses any environment that retains data without a domain, whatever its name', () => {
    const staging = { ...withoutDomain(prod), envName: 'staging' };
    expect(() => validateConfig(staging)).toThrow(/domain is required in a prod-like environment/);
    expect(() => validateConfig({ ...staging, retainData: false })).not.toThrow();
  });

  test('refuses prod named prod even when it keeps no data', () => {
    expect(() => validateConfig({ ...withoutDomain(prod), retainData: false })).toThrow(/domain is required in a prod-like environment/);
  });

  test('dev needs no domain', () => {
    expect(dev.domain).toBeUndefined();
    expect(() => validateConfig(dev)).not.toThrow();
  });

  test('accepts a named opt-out with a reason, for a demo', () => {
    const demo = { ...withoutDomain(prod), allowHttpOrigin: { reason: 'sales demo with test accounts, torn down tonight' } };
    expect(validateConfig(demo)).toBe(demo);
  });

  test('refuses an opt-out without a real reason, and one next to a domain', () => {
    expect(() => validateConfig({ ...withoutDomain(prod), allowHttpOrigin: { reason: 'demo' } })).toThrow(/allowHttpOrigin\.reason "demo" must say why \(at least 20 characters\)/);
    expect(() => validateConfig({ ...writableCopy(prod), allowHttpOrigin: { reason: 'sales demo with test accounts only' } })).toThrow(/allowHttpOrigin is set but so is domain/);
  });
});

const PRODUCT = '6f1c2a3b-0000-4000-8000-000000000001';

describe('validateConfig rejects', () => {
  const invalid: Array<[string, (c: ReturnType<typeof writableCopy<typeof prod>>) => void, RegExp]> = [
    ['min > max capacity', (c) => { c.fleets.user.minCapacity = 40; }, /fleets\.user\.minCapacity \(40\) must not exceed maxCapacity \(30\)/],
    ['negative readers', (c) => { c.database.readers = -1; }, /database\.readers -1 must be a whole number from 0 to 15/],
    ['too many readers', (c) => { c.database.readers = 16; }, /database\.readers 16/],
    ['a WAF rate limit below what WAF accepts', (c) => { c.waf.rateLimit = 9; }, /waf\.rateLimit 9 must be a whole number from 10 to 2000000000/],
    ['a WAF rate limit above what WAF accepts', (c) => { c.waf.rateLimit = 2_000_000_001; }, /waf\.rateLimit 2000000001/],
    ['an unsupported WAF window', (c) => { c.waf.evaluationWindowSeconds = 30; }, /waf\.evaluationWindowSeconds 30 must be one of 60, 120, 300, 600/],
    ['a sale event that ends before it starts', (c) => { c.saleEvents[0].end = '2027-11-25T00:00:00Z'; }, /saleEvents\["black-friday-2027"\] ends \(2027-11-25T00:00:00Z\) before it starts/],
    ['a sale event time without a UTC zone', (c) => { c.saleEvents[0].start = '2027-11-26 05:00'; }, /saleEvents\["black-friday-2027"\]\.start "2027-11-26 05:00" must be an ISO 8601 UTC time/],
    ['a sale event above a fleet maximum', (c) => { c.saleEvents[0].minCapacity = 25; }, /minCapacity \(25\) exceeds fleets\.worker\.maxCapacity \(20\)/],
    ['a sale event name unusable in IDs', (c) => { c.saleEvents[0].name = 'black friday'; }, /\.name must be 1-64 letters, digits or hyphens/],
    ['duplicate sale event names', (c) => { c.saleEvents.push({ ...c.saleEvents[0] }); }, /is used by more than one sale event/],
    ['a waiting room without products', (c) => { c.saleEvents[0].waitingRoom = { productIds: [], inletPerSecond: 10 }; }, /saleEvents\["black-friday-2027"\]\.waitingRoom\.productIds must name at least one product/],
    ['a waiting room product that is not a product id', (c) => { c.saleEvents[0].waitingRoom = { productIds: ['SKU-000001'], inletPerSecond: 10 }; }, /waitingRoom\.productIds "SKU-000001" must be a product id \(UUID\)/],
    ['a waiting room inlet of 0', (c) => { c.saleEvents[0].waitingRoom = { productIds: [PRODUCT], inletPerSecond: 0 }; }, /waitingRoom\.inletPerSecond 0 must be a whole number from 1 to 100000/],
    ['a fractional waiting room inlet', (c) => { c.saleEvents[0].waitingRoom = { productIds: [PRODUCT], inletPerSecond: 2.5 }; }, /waitingRoom\.inletPerSecond 2\.5 must be a whole number/],
    ['a product in two waiting rooms', (c) => {
      c.saleEvents[0].waitingRoom = { productIds: [PRODUCT], inletPerSecond: 10 };
      c.saleEvents.push({ ...c.saleEvents[0], name: 'cyber-monday-2027', waitingRoom: { productIds: [PRODUCT.toUpperCase()], inletPerSecond: 10 } });
    }, /saleEvents\["cyber-monday-2027"\]\.waitingRoom\.productIds "6F1C2A3B-0000-4000-8000-000000000001" is already in sale event "black-friday-2027"/],
    ['a worker fleet that can reach zero instances', (c) => { c.fleets.worker.minCapacity = 0; }, /fleets\.worker\.minCapacity 0 must be a whole number >= 1/],
    ['a CPU target above 100%', (c) => { c.fleets.order.cpuTargetPercent = 120; }, /fleets\.order\.cpuTargetPercent 120/],
    ['a zero request-count target', (c) => { c.fleets.payment.requestsPerTargetPerMinute = 0; }, /fleets\.payment\.requestsPerTargetPerMinute 0 must be above 0/],
    ['a malformed instance type', (c) => { c.fleets.user.instanceType = 'large'; }, /fleets\.user\.instanceType "large"/],
    ['a root volume smaller than the AMI', (c) => { c.fleets.user.volumeSizeGiB = 4; }, /fleets\.user\.volumeSizeGiB 4 must be 8-16384/],
    ['an AZ outside the region', (c) => { c.availabilityZones[0] = 'eu-west-1a'; }, /availabilityZones entry "eu-west-1a" is not a zone of region "us-west-2"/],
    ['a single AZ', (c) => { c.availabilityZones = ['us-west-2a']; c.network.natGateways = 1; }, /must list at least 2 zones/],
    ['a malformed NAT instance type', (c) => { c.network.natInstanceType = 'nano'; }, /network\.natInstanceType "nano" is not an EC2 instance type/],
    ['more NAT gateways than AZs', (c) => { c.network.natGateways = 4; }, /network\.natGateways 4 must be between 1 and the number of availabilityZones \(3\)/],
    ['a VPC CIDR too small for the subnets', (c) => { c.network.cidr = '10.0.0.0/18'; }, /network\.cidr "10\.0\.0\.0\/18" must be an IPv4 CIDR of \/16 or \/17/],
    ['a VPC CIDR that is not one', (c) => { c.network.cidr = '10.0.0.300/16'; }, /network\.cidr "10\.0\.0\.300\/16"/],
    ['an unknown interface endpoint', (c) => { (c.network.interfaceEndpoints as string[]).push('dynamodb'); }, /network\.interfaceEndpoints entry "dynamodb"/],
    ['a log retention CloudWatch does not offer', (c) => { c.observability.logRetentionDays = 10; }, /observability\.logRetentionDays 10 must be a CloudWatch Logs retention value/],
    ['a flow log retention CloudWatch does not offer', (c) => { c.network.flowLogRetentionDays = 0; }, /network\.flowLogRetentionDays 0/],
    ['a malformed prefix list ID', (c) => { c.loadBalancer.cloudFrontPrefixListId = 'cloudfront'; }, /loadBalancer\.cloudFrontPrefixListId "cloudfront"/],
    ['an ALB idle timeout the services\' keep-alive does not outlast', (c) => { c.loadBalancer.idleTimeoutSeconds = 75; }, /loadBalancer\.idleTimeoutSeconds 75 must be 1-69 \(below the services' 70 s keep-alive\)/],
    ['a slow start outside 30-900 s', (c) => { c.loadBalancer.slowStartSeconds = 10; }, /loadBalancer\.slowStartSeconds 10 must be 0 \(off\) or 30-900/],
    ['a deregistration delay above an hour', (c) => { c.loadBalancer.deregistrationDelaySeconds = 4000; }, /loadBalancer\.deregistrationDelaySeconds 4000/],
    ['backups kept under 7 days', (c) => { c.database.backupRetentionDays = 3; }, /database\.backupRetentionDays 3 must be 7-35/],
    ['an instance class with the db. prefix', (c) => { c.database.instanceClass = 'db.r7g.large'; }, /database\.instanceClass "db\.r7g\.large"/],
    ['a cache without replicas', (c) => { c.cache.replicasPerShard = 0; }, /cache\.replicasPerShard 0 must be 1-5/],
    ['several shards without cluster mode', (c) => { c.cache.shards = 2; c.cache.clusterMode = false; }, /cache\.shards 2 needs cache\.clusterMode true/],
    ['a malformed cache node type', (c) => { c.cache.nodeType = 'r7g.large'; }, /cache\.nodeType "r7g\.large"/],
    ['zero snapshot retention', (c) => { c.cache.snapshotRetentionDays = 0; }, /cache\.snapshotRetentionDays 0 must be 1-35/],
    ['a maxReceiveCount SQS refuses', (c) => { c.queues.maxReceiveCount = 0; }, /queues\.maxReceiveCount 0 must be 1-1000/],
    ['a handler timeout beyond the visibility limit', (c) => { c.queues.handlerTimeoutSeconds = 30_000; }, /queues\.handlerTimeoutSeconds 30000 must be 1-21600/],
    ['a zero orders-per-minute rate limit', (c) => { c.rateLimits.ordersPerMinute = 0; }, /rateLimits\.ordersPerMinute 0 must be a whole number from 1 to 1000000/],
    ['a fractional login rate limit', (c) => { c.rateLimits.loginPerMinute = 2.5; }, /rateLimits\.loginPerMinute 2\.5/],
    ['a zero per-account login rate limit', (c) => { c.rateLimits.loginAccountPerMinute = 0; }, /rateLimits\.loginAccountPerMinute 0 must be a whole number/],
    ['a registration rate limit above what the services accept', (c) => { c.rateLimits.registerPerMinute = 2_000_000; }, /rateLimits\.registerPerMinute 2000000/],
    ['a default rate above what the services accept', (c) => { c.rateLimits.defaultPerSecond = 2_000_000; }, /rateLimits\.defaultPerSecond 2000000/],
    ['a burst below the sustained rate', (c) => { c.rateLimits.defaultBurst = 10; c.rateLimits.defaultPerSecond = 50; }, /rateLimits\.defaultBurst \(10\) must be at least defaultPerSecond \(50\)/],
    ['a deregistration delay too short to drain in', (c) => { c.loadBalancer.deregistrationDelaySeconds = 10; }, /loadBalancer\.deregistrationDelaySeconds 10 must be at least 15/],
    ['a malformed account', (c) => { c.account = '1234'; }, /account "1234" must be 12 digits/],
    ['a malformed region', (c) => { c.region = 'mars-1'; }, /region "mars-1" is not an AWS region name/],
    ['a malformed alarm email', (c) => { c.observability.alarmEmail = 'ops'; }, /observability\.alarmEmail "ops" is not an email address/],
    ['a CloudFront certificate outside us-east-1', (c) => {
      c.domain = {
        domainNames: ['shop.example.com'],
        cloudFrontCertificateArn: 'arn:aws:acm:us-west-2:111122223333:certificate/abc',
        originDomainName: 'origin.shop.example.com',
        loadBalancerCertificateArn: 'arn:aws:acm:us-west-2:111122223333:certificate/def',
      };
    }, /domain\.cloudFrontCertificateArn "arn:aws:acm:us-west-2:111122223333:certificate\/abc" must be an ACM certificate ARN in us-east-1/],
  ];

  test.each(invalid)('%s', (_name, change, message) => {
    const config = writableCopy(prod);
    change(config);
    expect(() => validateConfig(config)).toThrow(ConfigError);
    expect(() => validateConfig(config)).toThrow(message);
  });

  test('every problem in one error, so a fork fixes its config in one pass', () => {
    const config = writableCopy(dev);
    config.fleets.user.minCapacity = 3;
    config.waf.rateLimit = 5;
    config.database.readers = -2;
    let error: unknown;
    try {
      validateConfig(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(3);
    expect((error as ConfigError).message).toMatch(/^Invalid Surge config 'dev':/);
  });
});
