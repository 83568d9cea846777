// Jest snapshot serializer that masks 64-hex asset hashes (S3 keys of bundled custom-resource
// code, etc.), so snapshots change when infrastructure changes, not when the CDK's bundled assets do.
const ASSET_HASH = /[0-9a-f]{64}/g;

export const maskAssetHashes = {
  test: (value: unknown): boolean => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string): string => JSON.stringify(value.replace(ASSET_HASH, '[ASSET HASH]')),
};
