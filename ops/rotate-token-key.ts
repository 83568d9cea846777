// `npm run rotate-token-key -- <secret-arn> [--region <region>]`: rotates the key that signs access
// tokens. Puts a new random value (Secrets Manager's GetRandomPassword, 64 letters and digits) into
// the TokenSigningKey secret; Secrets Manager keeps the old value as AWSPREVIOUS. The services derive
// the Ed25519 key from the value (services/platform/auth.ts tokenKeyFromSecret) and verify with both
// the current and the previous key, so no one is logged out: the user fleet signs with the new key
// within 5 minutes, other processes learn it from the first token that names it. Run it no more
// often than the token lifetime (TOKEN_TTL_SECONDS, 1 hour) plus 5 minutes, or tokens of the key
// before the previous one stop verifying early. Exit 0 rotated, 2 bad arguments, 3 AWS refused.
import { GetRandomPasswordCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export const ROTATE_USAGE = 'usage: npm run rotate-token-key -- <TokenSigningKey secret ARN> [--region <region>]';

export async function rotateTokenKey(client: SecretsManagerClient, secretArn: string): Promise<{ versionId: string }> {
  const { RandomPassword } = await client.send(new GetRandomPasswordCommand({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false }));
  if (!RandomPassword) throw new Error('Secrets Manager returned no random password');
  const { VersionId } = await client.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: RandomPassword }));
  return { versionId: VersionId ?? 'unknown' };
}

export async function rotateTokenKeyCli(argv: readonly string[], client?: SecretsManagerClient, print: (line: string) => void = console.log): Promise<number> {
  const args = [...argv];
  const regionAt = args.indexOf('--region');
  const region = regionAt >= 0 ? args.splice(regionAt, 2)[1] : process.env.AWS_REGION;
  const [secretArn, ...rest] = args;
  if (!secretArn || rest.length > 0 || !secretArn.startsWith('arn:') || !region) {
    print(ROTATE_USAGE);
    return 2;
  }
  try {
    const { versionId } = await rotateTokenKey(client ?? new SecretsManagerClient({ region }), secretArn);
    print(`rotated: new version ${versionId}; the previous key verifies until the next rotation`);
    return 0;
  } catch (err) {
    print(`AWS refused the rotation: ${(err as Error).message}`);
    return 3;
  }
}

if (require.main === module) void rotateTokenKeyCli(process.argv.slice(2)).then((code) => process.exit(code));
