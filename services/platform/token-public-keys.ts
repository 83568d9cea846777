// The public half of the login token keys, for the fleets that only verify tokens (order, payment,
// worker): derived from the TokenSigningKey secret's current and previous values and written as a
// JWKS to the TokenPublicKeys secret, which those fleets read (TOKEN_PUBLIC_KEYS_SECRET_ARN) instead
// of the secret the signing key comes from. The deployment runs `handler` before those fleets start
// (lib/construct/token-public-keys.ts); `npm run rotate-token-key` publishes a new key before it signs.
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { keySetFromSecretVersions, publicKeySet, type TokenKeySet } from './auth';

export interface TokenKeySecrets {
  /** The generated secret string the signing key is derived from (services/platform/auth.ts). */
  readonly signingKeyArn: string;
  /** Where the public keys go, as JSON `{ "keys": [JWK, ...] }`. */
  readonly publicKeysArn: string;
}

/** Writes `set`'s public keys (private parts dropped) to the public keys secret. */
export async function writePublicTokenKeys(client: SecretsManagerClient, publicKeysArn: string, set: TokenKeySet): Promise<TokenKeySet> {
  const published = publicKeySet(set);
  await client.send(new PutSecretValueCommand({ SecretId: publicKeysArn, SecretString: JSON.stringify(published) }));
  return published;
}

/** Publishes the public keys of the signing secret's current and previous values; returns them. */
export async function publishPublicTokenKeys(client: SecretsManagerClient, secrets: TokenKeySecrets): Promise<TokenKeySet> {
  const set = await keySetFromSecretVersions((versionStage) => readVersion(client, secrets.signingKeyArn, versionStage));
  return writePublicTokenKeys(client, secrets.publicKeysArn, set);
}

/**
 * A secret version's value; undefined only when the version does not exist. Any other failure
 * throws: publishing without the previous key would log out everyone holding one of its tokens.
 */
export async function readVersion(client: SecretsManagerClient, secretArn: string, versionStage?: string): Promise<string | undefined> {
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: versionStage }));
    if (out.SecretString === undefined) throw new Error(`secret ${secretArn} has no string value`);
    return out.SecretString;
  } catch (err) {
    if (versionStage !== undefined && (err as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

/**
 * The deployment's Lambda entry point (TOKEN_SIGNING_SECRET_ARN and TOKEN_PUBLIC_KEYS_SECRET_ARN set by
 * the stack). Returns the published key IDs, shown in the function's log; an error fails the deployment.
 */
export async function handler(): Promise<{ kids: string[] }> {
  const signingKeyArn = process.env.TOKEN_SIGNING_SECRET_ARN;
  const publicKeysArn = process.env.TOKEN_PUBLIC_KEYS_SECRET_ARN;
  if (!signingKeyArn || !publicKeysArn) throw new Error('TOKEN_SIGNING_SECRET_ARN and TOKEN_PUBLIC_KEYS_SECRET_ARN are required');
  const client = new SecretsManagerClient({});
  try {
    const published = await publishPublicTokenKeys(client, { signingKeyArn, publicKeysArn });
    const kids = published.keys.map((key) => key.kid as string);
    console.log(`published token public keys ${kids.join(', ')}`);
    return { kids };
  } finally {
    client.destroy();
  }
}
