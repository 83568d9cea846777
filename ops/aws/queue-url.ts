// Facts derived from an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>).

/** The queue's name: the URL's last path segment, which is also CloudWatch's QueueName dimension. */
export function queueNameOf(queueUrl: string): string {
  const name = queueUrl.split('/').filter((part) => part !== '').pop();
  if (name === undefined) throw new Error(`not an SQS queue URL: ${queueUrl}`);
  return name;
}
