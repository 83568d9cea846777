// The token key rotation command against a mocked Secrets Manager: a new random value is put into
// the secret (which keeps the old one as AWSPREVIOUS); bad arguments and AWS refusals exit non-zero.
import { GetRandomPasswordCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { rotateTokenKeyCli } from '../rotate-token-key';

const ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:TokenSigningKey-AbCdEf';
const sm = mockClient(SecretsManagerClient);
beforeEach(() => sm.reset());

it('puts a new 64-character random value into the secret', async () => {
  sm.on(GetRandomPasswordCommand).resolves({ RandomPassword: 'N'.repeat(64) });
  sm.on(PutSecretValueCommand).resolves({ VersionId: 'v2' });
  const lines: string[] = [];
  expect(await rotateTokenKeyCli([ARN, '--region', 'us-east-1'], new SecretsManagerClient({ region: 'us-east-1' }), (l) => lines.push(l))).toBe(0);
  expect(sm.commandCalls(GetRandomPasswordCommand)[0].args[0].input).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
  expect(sm.commandCalls(PutSecretValueCommand)[0].args[0].input).toEqual({ SecretId: ARN, SecretString: 'N'.repeat(64) });
  expect(lines).toEqual(['rotated: new version v2; the previous key verifies until the next rotation']);
});

it('exits 2 on bad arguments and 3 when AWS refuses', async () => {
  const lines: string[] = [];
  expect(await rotateTokenKeyCli(['not-an-arn', '--region', 'us-east-1'], new SecretsManagerClient({}), (l) => lines.push(l))).toBe(2);
  expect(lines[0]).toMatch(/^usage: npm run rotate-token-key/);
  sm.on(GetRandomPasswordCommand).rejects(new Error('AccessDenied'));
  expect(await rotateTokenKeyCli([ARN, '--region', 'us-east-1'], new SecretsManagerClient({ region: 'us-east-1' }), (l) => lines.push(l))).toBe(3);
  expect(lines[1]).toBe('AWS refused the rotation: AccessDenied');
  expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
});
