// SDK-shaped service errors, as a mocked client's send rejects with.

export function awsError(name: string, message = `${name} from the mocked transport`): Error {
  const error = new Error(message);
  error.name = name;
  Object.assign(error, { $fault: 'client', $metadata: { httpStatusCode: name.startsWith('Throttl') ? 400 : 403 } });
  return error;
}
