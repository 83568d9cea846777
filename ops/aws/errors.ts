// Turns AWS SDK failures into messages an SRE can act on: which IAM action is missing, which call
// was throttled, which credentials are absent. Every AWS call in ops/ goes through awsCall() so the
// message can name the action that failed.

/** An error the tools expect and explain; the CLI prints its message and exits with exitCode. */
export class OpsError extends Error {
  constructor(
    message: string,
    /** Process exit code: 2 for usage errors, 3 for AWS access/throttling/lookup problems. */
    readonly exitCode: number = 3,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
  'AuthorizationErrorException',
  'WAFAccessDeniedException',
]);

const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
]);

const NO_CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);

interface SdkErrorShape {
  name?: string;
  Code?: string;
  message?: string;
}

/** The error code an SDK v3 error carries (its `name`, or `Code` for some query protocols). */
export function errorCode(error: unknown): string {
  const shape = (error ?? {}) as SdkErrorShape;
  return shape.name ?? shape.Code ?? 'Error';
}

export function isAccessDenied(error: unknown): boolean {
  return ACCESS_DENIED.has(errorCode(error));
}

export function isThrottled(error: unknown): boolean {
  return THROTTLED.has(errorCode(error));
}

/**
 * Explains a failed call to `action` (an IAM action such as `rds:DescribeDBClusters`).
 * Errors that are not access, throttling or credential problems pass through unchanged.
 */
export function explainAwsError(action: string, error: unknown): unknown {
  const code = errorCode(error);
  if (isAccessDenied(error)) {
    return new OpsError(`missing permission ${action} (AWS said ${code}); see docs/ops-iam-policy.json`);
  }
  if (isThrottled(error)) {
    return new OpsError(
      `AWS throttled ${action} (${code}) after the SDK's retries; wait a minute and run again, ` +
        'or raise the retry budget with AWS_MAX_ATTEMPTS',
    );
  }
  if (NO_CREDENTIALS.has(code)) {
    return new OpsError(`no valid AWS credentials for ${action} (${code}): ${(error as Error).message}`);
  }
  return error;
}

/** Runs one AWS request, translating access and throttling failures into an OpsError naming `action`. */
export async function awsCall<T>(action: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw explainAwsError(action, error);
  }
}
