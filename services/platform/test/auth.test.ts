// Access tokens: verified once, then remembered per process until they expire.
import { createTokenService } from '../auth';

const KEY = 'a-signing-key-of-at-least-thirty-two-characters';

it('accepts its own tokens and remembers them only until they expire', async () => {
  let clock = Date.parse('2026-11-28T12:00:00.000Z');
  const tokens = createTokenService(KEY, 60, () => clock);
  const { token } = await tokens.issue('buyer-1');
  expect(await tokens.verify(token)).toEqual({ userId: 'buyer-1' });
  clock += 59_000;
  expect(await tokens.verify(token)).toEqual({ userId: 'buyer-1' }); // remembered, still valid
  clock += 1_000;
  await expect(tokens.verify(token)).rejects.toMatchObject({ statusCode: 401, message: 'The access token is invalid or expired' });
  clock -= 30_000;
  // Forgotten when it expired; verifying again from scratch still works while it is valid.
  expect(await tokens.verify(token)).toEqual({ userId: 'buyer-1' });
});

it('rejects a changed token, and a token signed with another key, after the genuine one was remembered', async () => {
  const tokens = createTokenService(KEY, 60);
  const { token } = await tokens.issue('buyer-2');
  await tokens.verify(token);
  const [header, payload, signature] = token.split('.');
  const otherUser = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'buyer-3' })).toString('base64url');
  await expect(tokens.verify(`${header}.${otherUser}.${signature}`)).rejects.toMatchObject({ statusCode: 401 });
  const foreign = await createTokenService(`${KEY}-other`, 60).issue('buyer-2');
  await expect(tokens.verify(foreign.token)).rejects.toMatchObject({ statusCode: 401 });
});
