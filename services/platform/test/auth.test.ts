// Access tokens: EdDSA with a kid; fleets with only the public keys verify but cannot sign; tokens
// are remembered per process until they expire; a key rotation in the middle of traffic logs no one
// out (tokens of the previous key keep verifying, tokens of the new key verify on processes that had
// not yet re-read their keys).
import { decodeProtectedHeader } from 'jose';
import { createTokenService, KEY_REFRESH_MIN_MS, SIGNER_REFRESH_MS } from '../auth';
import { generateTokenKey, publicKeySet, tokenKeyFromSecret, type TokenKeySet } from '../token-keys';

const first: TokenKeySet = { keys: [generateTokenKey('key-1')] };

it('signs EdDSA tokens naming their key, and remembers verified ones only until they expire', async () => {
  let clock = Date.parse('2026-11-28T12:00:00.000Z');
  const tokens = await createTokenService({ keys: async () => first, ttlSeconds: 60, now: () => clock });
  const { token } = await tokens.issue('buyer-1');
  expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: 'key-1' });
  expect(await tokens.verify(token)).toEqual({ userId: 'buyer-1' });
  clock += 59_000;
  expect(await tokens.verify(token)).toEqual({ userId: 'buyer-1' }); // remembered, still valid
  clock += 1_000;
  await expect(tokens.verify(token)).rejects.toMatchObject({ statusCode: 401, message: 'The access token is invalid or expired' });
  clock -= 30_000;
  // Forgotten when it expired; verifying again from scratch still works while it is valid.
  expect(await tokens.verify(token)).toEqual({ userId: 'buyer-1' });
});

it('rejects a changed token, one signed with another key, an HS256 token and alg none', async () => {
  const tokens = await createTokenService({ keys: async () => first });
  const { token } = await tokens.issue('buyer-2');
  await tokens.verify(token);
  const [header, payload, signature] = token.split('.');
  const otherUser = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'buyer-3' })).toString('base64url');
  await expect(tokens.verify(`${header}.${otherUser}.${signature}`)).rejects.toMatchObject({ statusCode: 401 });
  // Another key that claims the same kid.
  const impostor = await createTokenService({ keys: async () => ({ keys: [generateTokenKey('key-1')] }) });
  await expect(tokens.verify((await impostor.issue('buyer-2')).token)).rejects.toMatchObject({ statusCode: 401 });
  const hs256 = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'key-1' })).toString('base64url');
  await expect(tokens.verify(`${hs256}.${payload}.${signature}`)).rejects.toMatchObject({ statusCode: 401 });
  const none = Buffer.from(JSON.stringify({ alg: 'none', kid: 'key-1' })).toString('base64url');
  await expect(tokens.verify(`${none}.${payload}.`)).rejects.toMatchObject({ statusCode: 401 });
  await expect(tokens.verify('not-a-jwt')).rejects.toMatchObject({ statusCode: 401 });
});

it('lets a fleet holding only the public keys verify, but not sign', async () => {
  const signer = await createTokenService({ keys: async () => first });
  const verifier = await createTokenService({ keys: async () => publicKeySet(first) });
  expect(publicKeySet(first).keys[0]).not.toHaveProperty('d');
  const { token } = await signer.issue('buyer-4');
  expect(await verifier.verify(token)).toEqual({ userId: 'buyer-4' });
  await expect(verifier.issue('buyer-4')).rejects.toThrow(/holds only public token keys/);
});

it('logs no one out when the key rotates in the middle of traffic', async () => {
  let clock = Date.parse('2026-11-28T12:00:00.000Z');
  const now = () => clock;
  // The two secrets as the rotation writes them: public keys first, then the private set.
  let privateSet = first;
  let publicSet = publicKeySet(first);
  const reads = { signer: 0, verifier: 0 };
  const signer = await createTokenService({ keys: async () => (reads.signer++, privateSet), ttlSeconds: 3600, now });
  const verifier = await createTokenService({ keys: async () => (reads.verifier++, publicSet), ttlSeconds: 3600, now });

  const before = await Promise.all(['a', 'b', 'c'].map((user) => signer.issue(user)));
  for (const { token } of before) await verifier.verify(token);

  // Rotation: a new current key, the old one kept as previous.
  const rotated: TokenKeySet = { keys: [generateTokenKey('key-2'), first.keys[0]] };
  publicSet = publicKeySet(rotated);
  privateSet = rotated;

  // Until the signer re-reads its keys it keeps signing with key-1; everyone still verifies.
  clock += 60_000;
  const during = await signer.issue('d');
  expect(decodeProtectedHeader(during.token).kid).toBe('key-1');
  expect(await verifier.verify(during.token)).toEqual({ userId: 'd' });

  // Past SIGNER_REFRESH_MS the signer picks up key-2 (the re-read happens in the background).
  clock += SIGNER_REFRESH_MS;
  await signer.issue('e');
  await new Promise((resolve) => setImmediate(resolve));
  const after = await signer.issue('f');
  expect(decodeProtectedHeader(after.token).kid).toBe('key-2');

  // The verifier has never seen key-2: it re-reads its public keys once (not within KEY_REFRESH_MIN_MS of the last read).
  expect(clock - Date.parse('2026-11-28T12:00:00.000Z')).toBeGreaterThan(KEY_REFRESH_MIN_MS);
  const verifierReads = reads.verifier;
  expect(await verifier.verify(after.token)).toEqual({ userId: 'f' });
  expect(reads.verifier).toBe(verifierReads + 1);
  // Tokens of the previous key, issued before and during the rotation, still verify (fresh process too).
  const fresh = await createTokenService({ keys: async () => publicSet, now });
  for (const { token } of [...before, during]) {
    expect((await verifier.verify(token)).userId).toMatch(/^[a-d]$/);
    expect((await fresh.verify(token)).userId).toMatch(/^[a-d]$/);
  }
  // A made-up kid does not make the verifier re-read its keys again within KEY_REFRESH_MIN_MS.
  const stranger = await createTokenService({ keys: async () => ({ keys: [generateTokenKey('key-9')] }), now });
  await expect(verifier.verify((await stranger.issue('x')).token)).rejects.toMatchObject({ statusCode: 401 });
  expect(reads.verifier).toBe(verifierReads + 1);
});

it('derives a stable Ed25519 key from a random secret string, a new one when the secret changes', async () => {
  const secret = 'Zq3'.repeat(21);
  const key = tokenKeyFromSecret(secret);
  expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: expect.stringMatching(/^sm-[\w-]{16}$/) });
  expect(tokenKeyFromSecret(secret)).toEqual(key);
  expect(tokenKeyFromSecret(`${secret}x`).kid).not.toBe(key.kid);
  const signer = await createTokenService({ keys: async () => ({ keys: [key] }) });
  const verifier = await createTokenService({ keys: async () => publicKeySet({ keys: [key] }) });
  expect(await verifier.verify((await signer.issue('buyer-5')).token)).toEqual({ userId: 'buyer-5' });
});
