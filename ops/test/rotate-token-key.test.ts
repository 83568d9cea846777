// The token key rotation command against mocked Secrets Manager and SSM: the public keys of the new and
// the current key are published first (an SSM parameter), then the new random value is put into the
// signing secret (which keeps the old one as AWSPREVIOUS), so the verifying fleets know every key a
// token can name; bad arguments and AWS refusals exit non-zero and leave the signing secret alone.
import { GetRandomPasswordCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createTokenService } from '../../services/platform/auth';
import { keySetFromSecretVersions, tokenKeyFromSecret, type TokenKeySet } from '../../services/platform/token-keys';
import { rotateTokenKeyCli } from '../rotate-token-key';

const ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:TokenSigningKey-AbCdEf';
const PUBLIC_ARN = '/surge/prod/token-public-keys';
const CURRENT = 'C'.repeat(64);
const NEXT = 'N'.repeat(64);
const sm = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
beforeEach(() => {
  sm.reset();
  ssm.reset();
  ssm.on(PutParameterCommand).resolves({ Version: 2 });
});

const rotate = (argv: string[], lines: string[] = []) =>
  rotateTokenKeyCli(argv, { secrets: new SecretsManagerClient({ region: 'us-east-1' }), ssm: new SSMClient({ region: 'us-east-1' }) }, (l) => lines.push(l));

/** Every write, in order: the parameter's and the signing secret's. */
const writes = () =>
  [...ssm.commandCalls(PutParameterCommand), ...sm.commandCalls(PutSecretValueCommand)]
    .sort((a, b) => (a.calledBefore(b) ? -1 : 1))
    .map((call) => call.args[0].input as { Name?: string; Value?: string; SecretId?: string; SecretString?: string });

it('publishes the new and the current public key, then puts a new 64-character random value into the signing secret', async () => {
  sm.on(GetRandomPasswordCommand).resolves({ RandomPassword: NEXT });
  sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: CURRENT });
  sm.on(PutSecretValueCommand).resolves({ VersionId: 'v2' });
  const lines: string[] = [];
  expect(await rotate([ARN, PUBLIC_ARN, '--region', 'us-east-1'], lines)).toBe(0);
  expect(sm.commandCalls(GetRandomPasswordCommand)[0].args[0].input).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
  const puts = writes();
  expect(puts.map((put) => put.Name ?? put.SecretId)).toEqual([PUBLIC_ARN, ARN]);
  expect(puts[1].SecretString).toBe(NEXT);
  const published = JSON.parse(puts[0].Value as string) as TokenKeySet;
  expect(published.keys.map((k) => k.kid)).toEqual([tokenKeyFromSecret(NEXT).kid, tokenKeyFromSecret(CURRENT).kid]);
  expect(published.keys.every((k) => k.d === undefined)).toBe(true);
  expect(lines).toEqual(['rotated: new version v2, its public key published; the previous key verifies until the next rotation']);

  // The user fleet after the rotation signs with the new key; tokens of the old one are still out there.
  const verifier = await createTokenService({ keys: async () => published });
  const after = await createTokenService({ keys: async () => keySetFromSecretVersions(async (stage) => (stage ? CURRENT : NEXT)) });
  const before = await createTokenService({ keys: async () => ({ keys: [tokenKeyFromSecret(CURRENT)] }) });
  for (const signer of [after, before]) expect(await verifier.verify((await signer.issue('user-1')).token)).toEqual({ userId: 'user-1' });
});

it('exits 2 on bad arguments and 3 when AWS refuses, changing neither secret', async () => {
  const lines: string[] = [];
  expect(await rotate(['not-an-arn', PUBLIC_ARN, '--region', 'us-east-1'], lines)).toBe(2);
  expect(await rotate([ARN, '--region', 'us-east-1'], lines)).toBe(2);
  expect(await rotate([ARN, ARN, '--region', 'us-east-1'], lines)).toBe(2);
  expect(lines).toHaveLength(3);
  expect(lines.every((line) => /^usage: npm run rotate-token-key -- <TokenSigningKeyArn> <TokenPublicKeysParameterName>/.test(line))).toBe(true);
  sm.on(GetRandomPasswordCommand).rejects(new Error('AccessDenied'));
  expect(await rotate([ARN, PUBLIC_ARN, '--region', 'us-east-1'], lines)).toBe(3);
  expect(lines[3]).toBe('AWS refused the rotation: AccessDenied');
  sm.on(GetRandomPasswordCommand).resolves({ RandomPassword: NEXT });
  sm.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException: not allowed to read the signing key'));
  expect(await rotate([ARN, PUBLIC_ARN, '--region', 'us-east-1'], lines)).toBe(3);
  expect(writes()).toEqual([]);
});

it('does not put the new signing value when the public keys cannot be published', async () => {
  sm.on(GetRandomPasswordCommand).resolves({ RandomPassword: NEXT });
  sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: CURRENT });
  ssm.on(PutParameterCommand).rejects(new Error('AccessDenied'));
  const lines: string[] = [];
  expect(await rotate([ARN, PUBLIC_ARN, '--region', 'us-east-1'], lines)).toBe(3);
  expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
});
