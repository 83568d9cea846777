// The boot script (EC2 user data) of a Surge instance, rendered from plain values so it can be
// unit-tested and shellchecked: install Node 20 and the CloudWatch agent on Amazon Linux 2023, fetch
// the fleet's bundle from S3, write the service's environment file and systemd unit, ship its log
// file to CloudWatch Logs, start it. Secrets never appear here: the environment holds only their
// ARNs, and the service reads the values from Secrets Manager when it starts.
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
}

/** Where things live on the instance. */
export const INSTANCE_PATHS = {
  root: '/opt/surge',
  current: '/opt/surge/current',
  environmentFile: '/etc/surge/service.env',
  rdsCaBundle: '/opt/surge/rds-ca-bundle.pem',
  logDir: '/var/log/surge',
  unit: '/etc/systemd/system/surge.service',
  agentConfig: '/opt/aws/amazon-cloudwatch-agent/etc/surge-agent.json',
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

/** The whole boot script, without the `#!/bin/bash` line that `UserData.forLinux()` adds. */
export function renderBootScript(spec: BootScriptSpec): string {
  const p = INSTANCE_PATHS;
  const unitName = 'surge.service';
  return [
    'set -euo pipefail',
    `# Surge ${spec.fleetName} fleet: Node 20, the service bundle, its systemd unit and log shipping.`,
    'dnf install -y nodejs20 unzip logrotate amazon-cloudwatch-agent',
    'id -u surge >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin surge',
    `install -d -m 0755 ${p.root} /etc/surge`,
    `install -d -m 0755 -o surge -g surge ${p.logDir}`,
    '',
    '# The bundle: app/main.js, migrations/*.sql and the cluster launcher.',
    `aws s3 cp --region ${spec.region} 's3://${spec.bundleBucket}/${spec.bundleKey}' ${p.root}/bundle.zip`,
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
