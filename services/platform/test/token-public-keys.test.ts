// Publishing the token keys' public half against mocked Secrets Manager and SSM (tests never call AWS):
// the public keys of the signing secret's current and previous values, no private part, and tokens the
// user service signs verify with what was published.
import { GetSecretValueCommand, PutSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createTokenService } from '../auth';
import { keySetFromSecretVersions, tokenKeyFromSecret, type TokenKeySet } from '../token-keys';
import { handler, publishPublicTokenKeys } from '../token-public-keys';

const SIGNING = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:TokenSigningKey-AbCdEf';
const PUBLIC = '/surge/test/token-public-keys';
const CURRENT = 'c'.repeat(64);
const PREVIOUS = 'p'.repeat(64);

const sm = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
beforeEach(() => {
  sm.reset();
  ssm.reset();
});
afterAll(() => {
  sm.restore();
  ssm.restore();
});

const noVersion = () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS", $metadata: {} });

function signingSecret(previous?: string) {
  sm.on(GetSecretValueCommand, { SecretId: SIGNING, VersionStage: undefined }).resolves({ SecretString: CURRENT });
  if (previous) sm.on(GetSecretValueCommand, { SecretId: SIGNING, VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: previous });
  else sm.on(GetSecretValueCommand, { SecretId: SIGNING, VersionStage: 'AWSPREVIOUS' }).rejects(noVersion());
  ssm.on(PutParameterCommand).resolves({ Version: 2 });
}

/** What was written to the public keys parameter (a String, overwritten); the signing secret is never written. */
function published(): TokenKeySet {
  const puts = ssm.commandCalls(PutParameterCommand);
  expect(puts).toHaveLength(1);
  expect(puts[0].args[0].input).toMatchObject({ Name: PUBLIC, Type: 'String', Overwrite: true });
  expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  return JSON.parse(puts[0].args[0].input.Value as string) as TokenKeySet;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const client = () => ({ secrets: new SecretsManagerClient({ region: 'eu-west-1', credentials }), ssm: new SSMClient({ region: 'eu-west-1', credentials }) });

describe('publishPublicTokenKeys', () => {
  it('publishes the current key\'s public half alone before the first rotation', async () => {
    signingSecret();
    await publishPublicTokenKeys(client(), { signingKeyArn: SIGNING, publicKeysParameter: PUBLIC });
    const { d: _d, ...publicPart } = tokenKeyFromSecret(CURRENT);
    expect(published()).toEqual({ keys: [publicPart] });
  });

  it('publishes the current and the previous key, with no private part', async () => {
    signingSecret(PREVIOUS);
    await publishPublicTokenKeys(client(), { signingKeyArn: SIGNING, publicKeysParameter: PUBLIC });
    const set = published();
    expect(set.keys.map((k) => k.kid)).toEqual([tokenKeyFromSecret(CURRENT).kid, tokenKeyFromSecret(PREVIOUS).kid]);
    expect(set.keys.every((k) => k.d === undefined && k.kty === 'OKP' && k.crv === 'Ed25519')).toBe(true);
  });

  it('tokens of the current and the previous key verify with the published keys, and the published keys cannot sign', async () => {
    signingSecret(PREVIOUS);
    await publishPublicTokenKeys(client(), { signingKeyArn: SIGNING, publicKeysParameter: PUBLIC });
    const set = published();
    // The user fleet's view of the same secret (services/platform/config.ts), before and after the rotation.
    const signer = await createTokenService({ keys: async () => keySetFromSecretVersions(async (stage) => (stage ? PREVIOUS : CURRENT)) });
    const before = await createTokenService({ keys: async () => ({ keys: [tokenKeyFromSecret(PREVIOUS)] }) });
    const verifier = await createTokenService({ keys: async () => set });
    for (const issuer of [signer, before]) {
      const { token } = await issuer.issue('user-1');
      expect(await verifier.verify(token)).toEqual({ userId: 'user-1' });
    }
    await expect(verifier.issue('user-1')).rejects.toThrow(/only public token keys/);
  });

  it('fails rather than publish without the previous key when it cannot be read', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SIGNING, VersionStage: undefined }).resolves({ SecretString: CURRENT });
    sm.on(GetSecretValueCommand, { SecretId: SIGNING, VersionStage: 'AWSPREVIOUS' }).rejects(new Error('Rate exceeded'));
    await expect(publishPublicTokenKeys(client(), { signingKeyArn: SIGNING, publicKeysParameter: PUBLIC })).rejects.toThrow(/Rate exceeded/);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });
});

describe('the deployment step handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('publishes for the secrets the stack names and returns the key IDs', async () => {
    signingSecret(PREVIOUS);
    process.env = { ...saved, TOKEN_SIGNING_SECRET_ARN: SIGNING, TOKEN_PUBLIC_KEYS_PARAMETER: PUBLIC, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { kids } = await handler();
      expect(kids).toEqual(published().keys.map((k) => k.kid));
      expect(log).toHaveBeenCalledWith(`published token public keys ${kids.join(', ')}`);
    } finally {
      log.mockRestore();
    }
  });

  it('refuses to run without both secret ARNs', async () => {
    process.env = { ...saved, TOKEN_SIGNING_SECRET_ARN: SIGNING };
    delete process.env.TOKEN_PUBLIC_KEYS_PARAMETER;
    await expect(handler()).rejects.toThrow(/TOKEN_SIGNING_SECRET_ARN and TOKEN_PUBLIC_KEYS_PARAMETER are required/);
  });
});
