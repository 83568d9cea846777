// Asks the operator to type a word before something disruptive happens.
import { createInterface } from 'node:readline/promises';

/** Asks `question` and resolves true only when the answer is exactly `expected`. */
export type Confirm = (question: string, expected: string) => Promise<boolean>;

/** A Confirm reading one line from `input` (stdin by default) and prompting on `output` (stderr). */
export function lineConfirm(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Confirm {
  return async (question, expected) => {
    const prompt = createInterface({ input, output });
    try {
      const answer = await new Promise<string>((resolve) => {
        // End of input leaves question() pending forever and the process would just exit: treat it as no.
        prompt.once('close', () => resolve(''));
        prompt.question(`${question} Type "${expected}" to continue: `).then(resolve, () => resolve(''));
      });
      return answer.trim() === expected;
    } finally {
      prompt.close();
    }
  };
}
