// Jest snapshot helpers that mask content hashes, so snapshots change when infrastructure changes,
// not when the CDK's bundled assets or the services' code do: 64-hex asset hashes (S3 keys of bundled
// code) in any string, and the code hash CDK appends to a Lambda function's `currentVersion` logical
// ID (the migration step's version changes with every change to the services).
const ASSET_HASH = /[0-9a-f]{64}/g;
const VERSION_HASH = /(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g;

export const maskAssetHashes = {
  test: (value: unknown): boolean => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string): string => JSON.stringify(value.replace(ASSET_HASH, '[ASSET HASH]')),
};

/** A template with the version hashes in logical IDs (keys and references) masked. */
export function maskVersionHashes<T>(template: T): T {
  return JSON.parse(JSON.stringify(template).replace(VERSION_HASH, '$1[CODE HASH]')) as T;
}
