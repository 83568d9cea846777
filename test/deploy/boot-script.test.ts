// The rendered boot script, systemd unit, environment file and CloudWatch agent config, and
// shellcheck on the whole script (without shellcheck: fails in CI, skipped and listed elsewhere).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BootScriptSpec,
  INSTANCE_PATHS,
  renderAgentConfig,
  renderBootScript,
  renderEnvironmentFile,
  renderServiceUnit,
} from '../../lib/deploy/boot-script';
import { needsRealEngine } from '../../services/platform/test-engines';

const spec: BootScriptSpec = {
  fleetName: 'order',
  bundleBucket: 'cdk-hnb659fds-assets-111122223333-us-west-2',
  bundleKey: '0123abcd.zip',
  region: 'us-west-2',
  environment: {
    SURGE_ENV: 'dev',
    PORT: '8080',
    DB_SECRET_ARN: 'arn:aws:secretsmanager:us-west-2:111122223333:secret:db-AbCdEf',
    TOKEN_SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:us-west-2:111122223333:secret:token-AbCdEf',
    SHUTDOWN_DEADLINE_MS: '20000',
  },
  logGroupName: 'Surge-dev-OrderFleetServiceLogs',
  stopTimeoutSeconds: 30,
};

describe('systemd unit', () => {
  const unit = renderServiceUnit(spec);
  const line = (key: string) => unit.split('\n').filter((l) => l.startsWith(`${key}=`));

  test('runs the cluster launcher with the namespaced Node 20 binary and the fleet V8 flags, as an unprivileged user', () => {
    expect(line('ExecStart')).toEqual(['ExecStart=/usr/bin/node-20 --max-old-space-size=256 --max-semi-space-size=8 --no-memory-reducer /opt/surge/current/cluster-launcher.js']);
    expect(line('User')).toEqual(['User=surge']);
    expect(line('EnvironmentFile')).toEqual([`EnvironmentFile=${INSTANCE_PATHS.environmentFile}`]);
  });

  test('restarts on failure and gives the drain its deadline before killing', () => {
    expect(line('Restart')).toEqual(['Restart=on-failure']);
    expect(line('StartLimitIntervalSec')).toEqual(['StartLimitIntervalSec=0']);
    expect(line('KillMode')).toEqual(['KillMode=mixed']);
    expect(line('TimeoutStopSec')).toEqual(['TimeoutStopSec=30']);
  });

  test('writes output to the file the CloudWatch agent ships', () => {
    expect(line('StandardOutput')).toEqual(['StandardOutput=append:/var/log/surge/order.log']);
    const agent = JSON.parse(renderAgentConfig(spec));
    expect(agent.logs.logs_collected.files.collect_list).toEqual([
      expect.objectContaining({ file_path: '/var/log/surge/order.log', log_group_name: 'Surge-dev-OrderFleetServiceLogs' }),
    ]);
  });
});

describe('environment file', () => {
  test('sorted KEY=value lines', () => {
    expect(renderEnvironmentFile({ B: '2', A: 'x y' })).toBe('A=x y\nB=2');
  });

  test('refuses values that would break the file or be expanded, naming the key', () => {
    expect(() => renderEnvironmentFile({ GOOD: 'ok', BAD: 'a\nb' })).toThrow(/cannot be written safely: BAD/);
    expect(() => renderEnvironmentFile({ QUOTE: "it's" })).toThrow(/QUOTE/);
    expect(() => renderEnvironmentFile({ 'lower-case': 'x' })).toThrow(/lower-case/);
  });
});

describe('boot script', () => {
  const script = renderBootScript(spec);

  test('installs Node 20 and the CloudWatch agent from the AL2023 repositories', () => {
    expect(script).toMatch(/^dnf install -y nodejs20 unzip logrotate amazon-cloudwatch-agent$/m);
  });

  test('downloads the bundle from its S3 location and unpacks it where the unit looks', () => {
    expect(script).toContain(`aws s3 cp --region us-west-2 's3://${spec.bundleBucket}/${spec.bundleKey}' /opt/surge/bundle.zip`);
    expect(script).toContain('unzip -q /opt/surge/bundle.zip -d /opt/surge/current');
  });

  test('writes the environment with secret ARNs only and starts the unit', () => {
    expect(script).toContain('TOKEN_SIGNING_SECRET_ARN=arn:aws:secretsmanager:us-west-2:111122223333:secret:token-AbCdEf');
    expect(script).not.toMatch(/TOKEN_SIGNING_KEY=|DATABASE_URL=|REDIS_URL=/);
    expect(script).toMatch(/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/);
    expect(script.trim().split('\n').at(-1)).toBe('systemctl enable --now surge.service');
  });

  test('stops at the first failing command', () => {
    expect(script.split('\n')[0]).toBe('set -euo pipefail');
  });

  needsRealEngine('shellcheck', 'it lints the script with shellcheck; nothing stands in for it')('lint', () => {
    test('passes shellcheck', () => {
      const found = spawnSync('shellcheck', ['--version']);
      // A missing linter fails the test (CI) rather than passing unchecked.
      if (found.error) throw new Error('shellcheck is not installed: apt-get update && apt-get install -y shellcheck');
      const file = join(mkdtempSync(join(tmpdir(), 'surge-boot-')), 'user-data.sh');
      writeFileSync(file, `#!/bin/bash\n${script}\n`);
      const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], { encoding: 'utf8' });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    });
  });
});
