// The public half of the login token keys, for the fleets that only verify tokens (order, payment,
// worker): derived from the TokenSigningKey secret's current and previous values and written as a
// JWKS to an SSM parameter (public data: no secret needed, and Parameter Store's standard tier is
// free), which those fleets read (TOKEN_PUBLIC_KEYS_SECRET_ARN, the parameter's ARN) instead of the
// secret the signing key comes from. The deployment runs `handler` before those fleets start
// (lib/construct/token-public-keys.ts); `npm run rotate-token-key` publishes a new key before it signs.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { keySetFromSecretVersions, publicKeySet, type TokenKeySet } from './token-keys';

export interface TokenKeyStores {
  /** The generated secret string the signing key is derived from (services/platform/auth.ts). */
  readonly signingKeyArn: string;
  /** The SSM parameter the public keys go to, as JSON `{ "keys": [JWK, ...] }`. */
  readonly publicKeysParameter: string;
}

export interface TokenKeyClients {
  readonly secrets: SecretsManagerClient;
  readonly ssm: SSMClient;
}

/** Writes `set`'s public keys (private parts dropped) to the public keys parameter. */
export async function writePublicTokenKeys(ssm: SSMClient, parameterName: string, set: TokenKeySet): Promise<TokenKeySet> {
  const published = publicKeySet(set);
  await ssm.send(new PutParameterCommand({ Name: parameterName, Value: JSON.stringify(published), Type: 'String', Overwrite: true }));
  return published;
}

/** Publishes the public keys of the signing secret's current and previous values; returns them. */
export async function publishPublicTokenKeys(clients: TokenKeyClients, stores: TokenKeyStores): Promise<TokenKeySet> {
  const set = await keySetFromSecretVersions((versionStage) => readVersion(clients.secrets, stores.signingKeyArn, versionStage));
  return writePublicTokenKeys(clients.ssm, stores.publicKeysParameter, set);
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
 * The deployment's Lambda entry point (TOKEN_SIGNING_SECRET_ARN and TOKEN_PUBLIC_KEYS_PARAMETER set by
 * the stack). Returns the published key IDs, shown in the function's log; an error fails the deployment.
 */
export async function handler(): Promise<{ kids: string[] }> {
  const signingKeyArn = process.env.TOKEN_SIGNING_SECRET_ARN;
  const publicKeysParameter = process.env.TOKEN_PUBLIC_KEYS_PARAMETER;
  if (!signingKeyArn || !publicKeysParameter) throw new Error('TOKEN_SIGNING_SECRET_ARN and TOKEN_PUBLIC_KEYS_PARAMETER are required');
  const clients = { secrets: new SecretsManagerClient({}), ssm: new SSMClient({}) };
  try {
    const published = await publishPublicTokenKeys(clients, { signingKeyArn, publicKeysParameter });
    const kids = published.keys.map((key) => key.kid as string);
    console.log(`published token public keys ${kids.join(', ')}`);
    return { kids };
  } finally {
    clients.secrets.destroy();
    clients.ssm.destroy();
  }
}
