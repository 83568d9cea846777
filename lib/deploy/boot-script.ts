// The boot script (EC2 user data) of a Surge instance, rendered from plain values so it can be
// unit-tested and shellchecked: install Node 20 and the CloudWatch agent on Amazon Linux 2023 (retried:
// a package mirror or S3 having a bad minute must not leave a dead instance), fetch the fleet's bundle
// from S3, write the service's environment file and systemd unit, ship its log file to CloudWatch
// Logs, start it. A fleet without load balancer health checks (the worker) first installs a health
// watchdog that reports the instance unhealthy to Auto Scaling when the service has not answered for
// a while, including when this script itself failed. Secrets never appear here: the environment holds
// only their ARNs, and the service reads the values from Secrets Manager when it starts.
import { Token } from 'aws-cdk-lib';
import { BUNDLE_LAUNCHER, FLEET_NODE_FLAGS } from './bundle';

export interface BootScriptSpec {
  /** Fleet name (`user`, `order`, `payment`, `worker`): names the unit, log file and directories. */
  readonly fleetName: string;
  /** S3 location of the bundle zip (a CDK asset). */
  readonly bundleBucket: string;
  readonly bundleKey: string;
  /** Region of the bundle bucket and the log group. */
  readonly region: string;
  /** Environment of the service process (KEY=value lines of an EnvironmentFile); no secret values. */
  readonly environment: Readonly<Record<string, string>>;
  /** CloudWatch Logs group the agent ships the service's log file to. */
  readonly logGroupName: string;
  /** Seconds systemd waits after SIGTERM before killing the service (its drain deadline plus margin). */
  readonly stopTimeoutSeconds: number;
  /**
   * Report the instance unhealthy to Auto Scaling (SetInstanceHealth) when the service's liveness
   * route has not answered for this long. For groups without ELB health checks.
   * @default - no watchdog: the load balancer's health check covers the instance
   */
  readonly healthWatchdog?: HealthWatchdogSpec;
}

/** What the watchdog checks and when it gives up on the instance. */
export interface HealthWatchdogSpec {
  /** Port of the service's `/health/live` on the instance. */
  readonly port: number;
  /** Seconds of failed checks (one a minute) before the instance is reported unhealthy; at least 120. */
  readonly unhealthyAfterSeconds: number;
}

/** Attempts, and seconds between them, for boot steps that fetch over the network (about 5 minutes in all). */
export const BOOT_RETRY = { attempts: 30, delaySeconds: 10 } as const;

/** Where things live on the instance. */
export const INSTANCE_PATHS = {
  root: '/opt/surge',
  current: '/opt/surge/current',
  environmentFile: '/etc/surge/service.env',
  rdsCaBundle: '/opt/surge/rds-ca-bundle.pem',
  logDir: '/var/log/surge',
  unit: '/etc/systemd/system/surge.service',
  agentConfig: '/opt/aws/amazon-cloudwatch-agent/etc/surge-agent.json',
  watchdog: '/usr/local/bin/surge-health-watchdog',
  watchdogState: '/var/lib/surge-watchdog',
  watchdogUnit: '/etc/systemd/system/surge-health-watchdog.service',
  watchdogTimer: '/etc/systemd/system/surge-health-watchdog.timer',
} as const;

/** The Amazon RDS certificate bundle for every region (Node's CA store lacks the RDS CAs). */
export const RDS_CA_BUNDLE_URL = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem';

/** The systemd unit. One unit per instance; the launcher inside forks one worker per vCPU. */
export function renderServiceUnit(spec: Pick<BootScriptSpec, 'fleetName' | 'stopTimeoutSeconds'>): string {
  const p = INSTANCE_PATHS;
  return [
    '[Unit]',
    `Description=Surge ${spec.fleetName} service`,
    'Wants=network-online.target',
    'After=network-online.target',
    // Keep retrying while the database or cache is unreachable; the group's health check replaces an
    // instance that never gets ready.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    'User=surge',
    'Group=surge',
    `EnvironmentFile=${p.environmentFile}`,
    // node-20 is the namespaced binary: /usr/bin/node may point at another installed major version.
    // The launcher's node flags (FLEET_NODE_FLAGS) reach every worker: node:cluster forks with its execArgv.
    `ExecStart=/usr/bin/node-20 ${[...FLEET_NODE_FLAGS, `${p.current}/${BUNDLE_LAUNCHER}`].join(' ')}`,
    'Restart=on-failure',
    'RestartSec=5',
    // SIGTERM goes to the launcher, which forwards it to each worker; whatever is left after the
    // timeout is killed.
    'KillMode=mixed',
    `TimeoutStopSec=${spec.stopTimeoutSeconds}`,
    `StandardOutput=append:${p.logDir}/${spec.fleetName}.log`,
    'StandardError=inherit',
    'NoNewPrivileges=true',
    'ProtectSystem=full',
    'PrivateTmp=true',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
}

/** CloudWatch agent configuration: the service's log file to the fleet's log group, one stream per instance. */
export function renderAgentConfig(spec: Pick<BootScriptSpec, 'fleetName' | 'logGroupName'>): string {
  const config = {
    agent: { run_as_user: 'root' },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: `${INSTANCE_PATHS.logDir}/${spec.fleetName}.log`,
              log_group_name: spec.logGroupName,
              log_stream_name: '{instance_id}',
              // Retention is set on the log group by CloudFormation, not by the agent.
              retention_in_days: -1,
            },
          ],
        },
      },
    },
  };
  return JSON.stringify(config, null, 2);
}

/** The environment file: KEY=value lines, sorted so a change shows as a one-line diff. */
export function renderEnvironmentFile(environment: Readonly<Record<string, string>>): string {
  const problems = Object.entries(environment)
    .filter(([key, value]) => !/^[A-Z][A-Z0-9_]*$/.test(key) || (!Token.isUnresolved(value) && /[\n"'\\$`]/.test(value)))
    .map(([key]) => key);
  if (problems.length > 0) throw new Error(`Environment entries cannot be written safely: ${problems.join(', ')}`);
  return Object.keys(environment)
    .sort()
    .map((key) => `${key}=${environment[key]}`)
    .join('\n');
}

/**
 * The health watchdog, a bash script run once a minute by a systemd timer. It uses only what the
 * Amazon Linux 2023 image ships (bash, curl, the AWS CLI), so it works when the boot script failed
 * before installing anything. It remembers since when the service's `/health/live` has failed (a
 * file holding the epoch second of the first failure, cleared by a success) and, once that is
 * `unhealthyAfterSeconds` ago, reports the instance Unhealthy: Auto Scaling then replaces it. Liveness
 * only: a database outage must not have every worker replaced (see load-balancer.ts HEALTH_CHECK).
 */
export function renderHealthWatchdog(spec: Pick<BootScriptSpec, 'region'> & HealthWatchdogSpec): string {
  const p = INSTANCE_PATHS;
  return [
    '#!/bin/bash',
    '# Surge health watchdog: reports this instance unhealthy to Auto Scaling when the service has not',
    `# answered /health/live for ${spec.unhealthyAfterSeconds} s. Run once a minute by surge-health-watchdog.timer.`,
    'set -uo pipefail',
    `state_dir=\${SURGE_WATCHDOG_STATE:-${p.watchdogState}}`,
    'failing_since_file="$state_dir/failing-since"',
    `limit=${spec.unhealthyAfterSeconds}`,
    'now=$(date +%s)',
    'mkdir -p "$state_dir"',
    `if curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:${spec.port}/health/live; then`,
    '  rm -f "$failing_since_file"',
    '  exit 0',
    'fi',
    '[ -s "$failing_since_file" ] || echo "$now" > "$failing_since_file"',
    'failing_since=$(cat "$failing_since_file")',
    'failing_for=$((now - failing_since))',
    'if [ "$failing_for" -lt "$limit" ]; then',
    '  echo "surge-health-watchdog: service not live for ${failing_for} s (limit ${limit} s)"',
    '  exit 0',
    'fi',
    'token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)',
    'instance_id=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)',
    'echo "surge-health-watchdog: service not live for ${failing_for} s; reporting $instance_id unhealthy to Auto Scaling"',
    // Respecting the grace period: a just-launched instance is not reported while the group still waits for it.
    `exec aws autoscaling set-instance-health --region ${spec.region} --instance-id "$instance_id" --health-status Unhealthy --should-respect-grace-period`,
  ].join('\n');
}

/** The whole boot script, without the `#!/bin/bash` line that `UserData.forLinux()` adds. */
export function renderBootScript(spec: BootScriptSpec): string {
  const p = INSTANCE_PATHS;
  const unitName = 'surge.service';
  return [
    'set -euo pipefail',
    `# Surge ${spec.fleetName} fleet: Node 20, the service bundle, its systemd unit and log shipping.`,
    ...(spec.healthWatchdog ? watchdogInstall({ ...spec.healthWatchdog, region: spec.region }) : []),
    '# Network steps are retried (the NAT instance boot does the same): a failed boot leaves an instance that never serves.',
    'retry() {',
    '  local attempt',
    `  for attempt in $(seq 1 ${BOOT_RETRY.attempts}); do`,
    '    "$@" && return 0',
    `    echo "boot: '$*' failed (attempt $attempt of ${BOOT_RETRY.attempts}), retrying in ${BOOT_RETRY.delaySeconds} s" >&2`,
    `    sleep ${BOOT_RETRY.delaySeconds}`,
    '  done',
    '  return 1',
    '}',
    'retry dnf install -y nodejs20 unzip logrotate amazon-cloudwatch-agent',
    'id -u surge >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin surge',
    `install -d -m 0755 ${p.root} /etc/surge`,
    `install -d -m 0755 -o surge -g surge ${p.logDir}`,
    '',
    '# The bundle: app/main.js, <service>/migrations/*.sql of every service and the cluster launcher.',
    `retry aws s3 cp --region ${spec.region} 's3://${spec.bundleBucket}/${spec.bundleKey}' ${p.root}/bundle.zip`,
    `rm -rf ${p.current}`,
    `unzip -q ${p.root}/bundle.zip -d ${p.current}`,
    `curl -fsSL --retry 5 -o ${p.rdsCaBundle} ${RDS_CA_BUNDLE_URL}`,
    '',
    `cat > ${p.environmentFile} <<'SURGE_ENVIRONMENT'`,
    renderEnvironmentFile(spec.environment),
    'SURGE_ENVIRONMENT',
    `chmod 0644 ${p.environmentFile}`,
    '',
    `cat > ${p.unit} <<'SURGE_UNIT'`,
    renderServiceUnit(spec),
    'SURGE_UNIT',
    '',
    `cat > /etc/logrotate.d/surge <<'SURGE_LOGROTATE'`,
    `${p.logDir}/*.log {`,
    '  daily',
    '  rotate 4',
    '  maxsize 100M',
    '  missingok',
    '  compress',
    // systemd holds the file open in append mode, so truncate in place rather than move it.
    '  copytruncate',
    '}',
    'SURGE_LOGROTATE',
    '',
    `cat > ${p.agentConfig} <<'SURGE_AGENT'`,
    renderAgentConfig(spec),
    'SURGE_AGENT',
    `/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${p.agentConfig}`,
    '',
    'systemctl daemon-reload',
    `systemctl enable --now ${unitName}`,
  ].join('\n');
}

/** Boot-script lines that install and start the watchdog: first, so that it also sees a failed boot. */
function watchdogInstall(spec: Pick<BootScriptSpec, 'region'> & HealthWatchdogSpec): string[] {
  const p = INSTANCE_PATHS;
  return [
    '# First of all, the health watchdog: if anything below fails, it reports this instance unhealthy.',
    `cat > ${p.watchdog} <<'SURGE_WATCHDOG'`,
    renderHealthWatchdog(spec),
    'SURGE_WATCHDOG',
    `chmod 0755 ${p.watchdog}`,
    `cat > ${p.watchdogUnit} <<'SURGE_WATCHDOG_UNIT'`,
    '[Unit]',
    'Description=Surge health watchdog (reports a dead service to Auto Scaling)',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${p.watchdog}`,
    'SURGE_WATCHDOG_UNIT',
    `cat > ${p.watchdogTimer} <<'SURGE_WATCHDOG_TIMER'`,
    '[Unit]',
    'Description=Run the Surge health watchdog every minute',
    '',
    '[Timer]',
    'OnBootSec=60',
    'OnUnitActiveSec=60',
    'AccuracySec=5',
    '',
    '[Install]',
    'WantedBy=timers.target',
    'SURGE_WATCHDOG_TIMER',
    'systemctl daemon-reload',
    'systemctl enable --now surge-health-watchdog.timer',
    '',
  ];
}
