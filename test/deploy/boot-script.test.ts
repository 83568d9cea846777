// The rendered boot script, systemd unit, environment file and CloudWatch agent config, and
// shellcheck on the whole script (without shellcheck: fails in CI, skipped and listed elsewhere).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BOOT_RETRY,
  type BootScriptSpec,
  INSTANCE_PATHS,
  renderAgentConfig,
  renderBootScript,
  renderEnvironmentFile,
  renderHealthWatchdog,
  renderServiceUnit,
} from '../../lib/deploy/boot-script';
import { needsRealEngine } from '../../services/test-support/engines';

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

  test('installs Node 20 and the CloudWatch agent from the AL2023 repositories, retrying', () => {
    expect(script).toMatch(/^retry dnf install -y nodejs20 unzip logrotate amazon-cloudwatch-agent$/m);
    expect(script).not.toMatch(/^dnf install/m);
  });

  test('downloads the bundle from its S3 location, retrying, and unpacks it where the unit looks', () => {
    expect(script).toContain(`retry aws s3 cp --region us-west-2 's3://${spec.bundleBucket}/${spec.bundleKey}' /opt/surge/bundle.zip`);
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
    test.each([
      ['the boot script', `#!/bin/bash\n${script}\n`],
      ['the boot script with the health watchdog', `#!/bin/bash\n${renderBootScript({ ...spec, healthWatchdog: { port: 8080, unhealthyAfterSeconds: 600 } })}\n`],
      ['the health watchdog', `${renderHealthWatchdog({ region: 'us-west-2', port: 8080, unhealthyAfterSeconds: 600 })}\n`],
    ])('%s passes shellcheck', (_name, text) => {
      const found = spawnSync('shellcheck', ['--version']);
      // A missing linter fails the test (CI) rather than passing unchecked.
      if (found.error) throw new Error('shellcheck is not installed: apt-get update && apt-get install -y shellcheck');
      const file = join(mkdtempSync(join(tmpdir(), 'surge-boot-')), 'script.sh');
      writeFileSync(file, text);
      const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], { encoding: 'utf8' });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    });
  });
});

describe('retried boot steps', () => {
  // The script's own retry function, run by bash against a command that fails twice then succeeds,
  // and one that never succeeds (with the delay cut to 0 so the test is quick).
  const retryFunction = () => {
    const lines = renderBootScript(spec).split('\n');
    const start = lines.indexOf('retry() {');
    return lines.slice(start, lines.indexOf('}', start) + 1).join('\n').replace(`sleep ${BOOT_RETRY.delaySeconds}`, 'sleep 0');
  };
  const run = (body: string) => spawnSync('bash', ['-c', `set -euo pipefail\n${retryFunction()}\n${body}`], { encoding: 'utf8' });

  test('a step that fails twice succeeds on the third attempt and the boot goes on', () => {
    const result = run(`n=0; flaky() { n=$((n + 1)); [ "$n" -ge 3 ]; }; retry flaky; echo "continued after $n attempts"`);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('continued after 3 attempts\n');
    expect(result.stderr.match(/failed \(attempt \d+ of 30\)/g)).toEqual(['failed (attempt 1 of 30)', 'failed (attempt 2 of 30)']);
  });

  test(`a step that never succeeds stops the boot after ${BOOT_RETRY.attempts} attempts`, () => {
    const result = run('retry false; echo "must not get here"');
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/'false' failed \(attempt 30 of 30\)/);
  });
});

describe('health watchdog', () => {
  const watchdogSpec = { region: 'us-west-2', port: 18080, unhealthyAfterSeconds: 600 };

  test('the worker boot script installs and starts it before anything that can fail', () => {
    const withWatchdog = renderBootScript({ ...spec, healthWatchdog: watchdogSpec });
    const lines = withWatchdog.split('\n');
    const timerStarted = lines.indexOf('systemctl enable --now surge-health-watchdog.timer');
    expect(timerStarted).toBeGreaterThan(0);
    expect(timerStarted).toBeLessThan(lines.findIndex((l) => l.startsWith('retry dnf install')));
    expect(withWatchdog).toContain(`cat > ${INSTANCE_PATHS.watchdog} <<'SURGE_WATCHDOG'`);
    expect(withWatchdog).toMatch(/^OnUnitActiveSec=60$/m);
    expect(renderBootScript(spec)).not.toContain('surge-health-watchdog');
  });

  // The script run by bash with `curl` and `aws` replaced by fakes on PATH: the fake curl answers the
  // liveness route as the test says and IMDS with a token and an instance ID; the fake aws records
  // its arguments. Time passing is simulated by moving the recorded start of the failure back.
  function harness() {
    const dir = mkdtempSync(join(tmpdir(), 'surge-watchdog-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const calls = join(dir, 'aws-calls');
    writeFileSync(
      join(bin, 'curl'),
      ['#!/bin/bash', 'case "$*" in', '  *"/health/live"*) exit "$(cat "$FAKE_LIVE_EXIT")" ;;', '  *"/api/token"*) echo token-1 ;;', '  *"/instance-id"*) echo i-0123456789abcdef0 ;;', '  *) exit 7 ;;', 'esac', ''].join('\n'),
    );
    writeFileSync(join(bin, 'aws'), `#!/bin/bash\necho "$*" >> '${calls}'\n`);
    chmodSync(join(bin, 'curl'), 0o755);
    chmodSync(join(bin, 'aws'), 0o755);
    const script = join(dir, 'watchdog.sh');
    writeFileSync(script, renderHealthWatchdog(watchdogSpec));
    const live = join(dir, 'live-exit');
    const state = join(dir, 'state');
    const tick = (liveExitCode: number) => {
      writeFileSync(live, String(liveExitCode));
      return spawnSync('bash', [script], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, FAKE_LIVE_EXIT: live, SURGE_WATCHDOG_STATE: state },
      });
    };
    const failingSince = join(state, 'failing-since');
    const ageFailureBy = (seconds: number) => writeFileSync(failingSince, String(Number(readFileSync(failingSince, 'utf8')) - seconds));
    const awsCalls = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
    return { tick, ageFailureBy, awsCalls, failingSince };
  }

  test('a live service is never reported', () => {
    const w = harness();
    for (let i = 0; i < 3; i++) expect(w.tick(0).status).toBe(0);
    expect(w.awsCalls()).toEqual([]);
    expect(existsSync(w.failingSince)).toBe(false);
  });

  test('a service dead for less than the limit is not reported; at the limit the instance is reported unhealthy', () => {
    const w = harness();
    expect(w.tick(7).stdout).toMatch(/service not live for 0 s \(limit 600 s\)/);
    w.ageFailureBy(590);
    expect(w.tick(7).stdout).toMatch(/service not live for 59\d s/);
    expect(w.awsCalls()).toEqual([]);
    w.ageFailureBy(10);
    const reported = w.tick(7);
    expect(reported.status).toBe(0);
    expect(reported.stdout).toMatch(/reporting i-0123456789abcdef0 unhealthy to Auto Scaling/);
    expect(w.awsCalls()).toEqual([
      'autoscaling set-instance-health --region us-west-2 --instance-id i-0123456789abcdef0 --health-status Unhealthy --should-respect-grace-period',
    ]);
  });

  test('one good answer resets the clock: a service that recovers is not reported later', () => {
    const w = harness();
    w.tick(7);
    w.ageFailureBy(500);
    w.tick(0);
    expect(existsSync(w.failingSince)).toBe(false);
    w.tick(7);
    w.ageFailureBy(500);
    w.tick(7);
    expect(w.awsCalls()).toEqual([]);
  });
});
