// The error for a bad command line: printed with the usage text, exit code 2.
import { OpsError } from '../aws/errors';

export class UsageError extends OpsError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}
