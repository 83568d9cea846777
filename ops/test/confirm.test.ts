import { PassThrough } from 'node:stream';
import { lineConfirm } from '../cli/confirm';

function streams() {
  const input = new PassThrough();
  const output = new PassThrough();
  let prompted = '';
  output.on('data', (chunk) => (prompted += chunk));
  return { input, output, prompted: () => prompted };
}

test('confirms only when the expected word is typed', async () => {
  const { input, output, prompted } = streams();
  const answer = lineConfirm(input, output)('This fails over the cache.', 'prod');
  input.write('prod\n');
  await expect(answer).resolves.toBe(true);
  expect(prompted()).toBe('This fails over the cache. Type "prod" to continue: ');
});

test('any other answer is a no', async () => {
  const { input, output } = streams();
  const answer = lineConfirm(input, output)('?', 'prod');
  input.write('yes\n');
  await expect(answer).resolves.toBe(false);
});

test('end of input is a no, not a hang', async () => {
  const { input, output } = streams();
  const answer = lineConfirm(input, output)('?', 'prod');
  input.end();
  await expect(answer).resolves.toBe(false);
});
