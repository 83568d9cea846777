// `npm run rotate-token-key -- <signing-secret-arn> <public-keys-parameter> [--region <region>]`:
// rotates the key that signs access tokens. Puts a new random value (Secrets Manager's
// GetRandomPassword, 64 letters and digits) into the TokenSigningKey secret; Secrets Manager keeps the
// old value as AWSPREVIOUS. The services derive the Ed25519 key from the value (services/platform/auth.ts
// tokenKeyFromSecret) and verify with both the current and the previous key, so no one is logged out.
// The fleets that only verify read the public keys from an SSM parameter: the new and the current key's
// public halves are written there first, so they know the new key before the user fleet signs with it
// (within 5 minutes). Both are stack outputs (TokenSigningKeyArn, TokenPublicKeysParameterName).
// Run it no more often than the token lifetime (TOKEN_TTL_SECONDS, 1 hour) plus 5 minutes, or tokens of
// the key before the previous one stop verifying early. Exit 0 rotated, 2 bad arguments, 3 AWS refused.
import { GetRandomPasswordCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { keySetFromSecretVersions } from '../services/platform/token-keys';
import { readVersion, writePublicTokenKeys, type TokenKeyClients, type TokenKeyStores } from '../services/platform/token-public-keys';

export const ROTATE_USAGE = 'usage: npm run rotate-token-key -- <TokenSigningKeyArn> <TokenPublicKeysParameterName> [--region <region>] (both are Surge-<env> stack outputs)';

export async function rotateTokenKey({ secrets: client, ssm }: TokenKeyClients, stores: TokenKeyStores): Promise<{ versionId: string }> {
  const { RandomPassword: next } = await client.send(new GetRandomPasswordCommand({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false }));
  if (!next) throw new Error('Secrets Manager returned no random password');
  const current = await readVersion(client, stores.signingKeyArn);
  // The key set as it will be once the new value is current and this one previous, published first.
  const upcoming = await keySetFromSecretVersions(async (versionStage) => (versionStage ? current : next));
  await writePublicTokenKeys(ssm, stores.publicKeysParameter, upcoming);
  const { VersionId } = await client.send(new PutSecretValueCommand({ SecretId: stores.signingKeyArn, SecretString: next }));
  return { versionId: VersionId ?? 'unknown' };
}

export async function rotateTokenKeyCli(argv: readonly string[], clients?: TokenKeyClients, print: (line: string) => void = console.log): Promise<number> {
  const args = [...argv];
  const regionAt = args.indexOf('--region');
  const region = regionAt >= 0 ? args.splice(regionAt, 2)[1] : process.env.AWS_REGION;
  const [signingKeyArn, publicKeysParameter, ...rest] = args;
  if (rest.length > 0 || !signingKeyArn?.startsWith('arn:') || !publicKeysParameter?.startsWith('/') || !region) {
    print(ROTATE_USAGE);
    return 2;
  }
  try {
    const { versionId } = await rotateTokenKey(clients ?? { secrets: new SecretsManagerClient({ region }), ssm: new SSMClient({ region }) }, { signingKeyArn, publicKeysParameter });
    print(`rotated: new version ${versionId}, its public key published; the previous key verifies until the next rotation`);
    return 0;
  } catch (err) {
    print(`AWS refused the rotation: ${(err as Error).message}`);
    return 3;
  }
}

if (require.main === module) void rotateTokenKeyCli(process.argv.slice(2)).then((code) => process.exit(code));
