// `npm run rotate-token-key -- <signing-secret-arn> <public-keys-secret-arn> [--region <region>]`:
// rotates the key that signs access tokens. Puts a new random value (Secrets Manager's
// GetRandomPassword, 64 letters and digits) into the TokenSigningKey secret; Secrets Manager keeps the
// old value as AWSPREVIOUS. The services derive the Ed25519 key from the value (services/platform/auth.ts
// tokenKeyFromSecret) and verify with both the current and the previous key, so no one is logged out.
// The fleets that only verify read the public keys from the TokenPublicKeys secret: the new and the
// current key's public halves are written there first, so they know the new key before the user fleet
// signs with it (within 5 minutes). Both ARNs are stack outputs (TokenSigningKeyArn, TokenPublicKeysArn).
// Run it no more often than the token lifetime (TOKEN_TTL_SECONDS, 1 hour) plus 5 minutes, or tokens of
// the key before the previous one stop verifying early. Exit 0 rotated, 2 bad arguments, 3 AWS refused.
import { GetRandomPasswordCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { keySetFromSecretVersions } from '../services/platform/auth';
import { readVersion, writePublicTokenKeys, type TokenKeySecrets } from '../services/platform/token-public-keys';

export const ROTATE_USAGE = 'usage: npm run rotate-token-key -- <TokenSigningKeyArn> <TokenPublicKeysArn> [--region <region>] (both are Surge-<env> stack outputs)';

export async function rotateTokenKey(client: SecretsManagerClient, secrets: TokenKeySecrets): Promise<{ versionId: string }> {
  const { RandomPassword: next } = await client.send(new GetRandomPasswordCommand({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false }));
  if (!next) throw new Error('Secrets Manager returned no random password');
  const current = await readVersion(client, secrets.signingKeyArn);
  // The key set as it will be once the new value is current and this one previous, published first.
  const upcoming = await keySetFromSecretVersions(async (versionStage) => (versionStage ? current : next));
  await writePublicTokenKeys(client, secrets.publicKeysArn, upcoming);
  const { VersionId } = await client.send(new PutSecretValueCommand({ SecretId: secrets.signingKeyArn, SecretString: next }));
  return { versionId: VersionId ?? 'unknown' };
}

export async function rotateTokenKeyCli(argv: readonly string[], client?: SecretsManagerClient, print: (line: string) => void = console.log): Promise<number> {
  const args = [...argv];
  const regionAt = args.indexOf('--region');
  const region = regionAt >= 0 ? args.splice(regionAt, 2)[1] : process.env.AWS_REGION;
  const [signingKeyArn, publicKeysArn, ...rest] = args;
  const arns = [signingKeyArn, publicKeysArn];
  if (rest.length > 0 || !arns.every((arn) => arn?.startsWith('arn:')) || signingKeyArn === publicKeysArn || !region) {
    print(ROTATE_USAGE);
    return 2;
  }
  try {
    const { versionId } = await rotateTokenKey(client ?? new SecretsManagerClient({ region }), { signingKeyArn, publicKeysArn });
    print(`rotated: new version ${versionId}, its public key published; the previous key verifies until the next rotation`);
    return 0;
  } catch (err) {
    print(`AWS refused the rotation: ${(err as Error).message}`);
    return 3;
  }
}

if (require.main === module) void rotateTokenKeyCli(process.argv.slice(2)).then((code) => process.exit(code));
