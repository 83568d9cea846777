// cdk-nag gate: AwsSolutions on the whole app (both stacks) for dev and prod must leave zero
// unacknowledged errors, checked both through cdk-nag's report and through synth itself (the CDK
// validation framework fails synth on findings). NIST 800-53 rev 5 findings must match the
// reviewed list in docs/NIST-FINDINGS.md.
import { readFileSync } from 'node:fs';
import { Stack, Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { SurgeApp } from '../lib/app';
import { buildSurgeApp } from './helpers/app';
import { NIST_FINDINGS_PATH, nistFindings, renderNistFindings, WHY_OPEN } from './helpers/nist-findings';

describe.each(['dev', 'prod'])('AwsSolutions on %s', (envName) => {
  // The first two tests only read the app; the third registers a plugin, so it builds its own.
  let built: SurgeApp | undefined;
  const readOnlyApp = () => (built ??= buildSurgeApp(envName)).app;

  test('no unacknowledged errors or warnings', () => {
    const app = readOnlyApp();
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  test('every acknowledgment sits next to a resource and gives a specific reason', () => {
    const app = readOnlyApp();
    const acknowledgments = app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
        .filter(([id]) => /AwsSolutions-/.test(id))
        .map(([id, reason]) => ({ construct, id, reason })),
    );
    expect(acknowledgments.length).toBeGreaterThan(0);
    for (const { construct, id, reason } of acknowledgments) {
      expect({ id, path: construct.node.path, onStackOrApp: Stack.isStack(construct) || Stage.isStage(construct) }).toEqual({ id, path: construct.node.path, onStackOrApp: false });
      expect({ id, path: construct.node.path, reasonLength: reason.length >= 60 }).toEqual({ id, path: construct.node.path, reasonLength: true });
    }
  });

  test('synth passes with the pack registered as a validation plugin', () => {
    const { app } = buildSurgeApp(envName);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('NIST 800-53 rev 5', () => {
  const byEnv = { dev: nistFindings('dev'), prod: nistFindings('prod') };

  test('every remaining rule has a written reason', () => {
    const rules = new Set(Object.values(byEnv).flatMap((findings) => findings.map((f) => f.rule)));
    expect([...rules].filter((rule) => !WHY_OPEN[rule])).toEqual([]);
  });

  test('docs/NIST-FINDINGS.md lists exactly the current findings (regenerate: npx tsx test/helpers/nist-findings.ts)', () => {
    expect(readFileSync(NIST_FINDINGS_PATH, 'utf8')).toBe(renderNistFindings(byEnv));
  });
});
