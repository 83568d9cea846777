// Checks one HTTP answer against the generated OpenAPI document with openapi-backend (a maintained
// validator: ajv compiled from the document, not hand-written checks): the request matches an
// operation, the status is one the operation documents, the content type is one the document lists
// for that status, the body matches its schema, documented response headers are present and valid.
import addFormats from 'ajv-formats';
import OpenAPIBackend, { SetMatchType, type Document } from 'openapi-backend';

export interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

export interface Verdict {
  /** The matched operation, or undefined when the request matches none. */
  operationId?: string;
  /** Empty when the answer is what the document says; otherwise what is wrong, for the test's message. */
  problems: string[];
}

export interface DocumentChecker {
  /**
   * Checks the answer against the operation the request matches, or the one named: a request whose
   * path parameter is empty (`/api/orders/`) still reaches that operation's route in Fastify.
   */
  check(method: string, url: string, answer: Answer, operationId?: string): Verdict;
}

export async function createDocumentChecker(document: Document): Promise<DocumentChecker> {
  const api = new OpenAPIBackend({ definition: document, strict: true, customizeAjv: (ajv) => addFormats(ajv) as typeof ajv });
  await api.init();
  return {
    check(method, url, answer, operationId) {
      const path = url.split('?')[0];
      const operation = operationId ? api.getOperation(operationId) : api.matchOperation({ method, path, headers: {} });
      const said = `${method} ${path} -> ${answer.statusCode} ${answer.body.slice(0, 300)}`;
      if (!operation) return { problems: [`${said}: no operation matches`] };
      const problems: string[] = [];
      const response = operation.responses?.[String(answer.statusCode)] as { content?: Record<string, unknown> } | undefined;
      if (!response) return { operationId: operation.operationId, problems: [`${said}: status ${answer.statusCode} is not documented for ${operation.operationId}`] };
      const mediaType = String(answer.headers['content-type'] ?? '').split(';')[0].trim();
      const mediaTypes = Object.keys(response.content ?? {});
      if (!mediaTypes.includes(mediaType)) problems.push(`${said}: content type "${mediaType}" is not one of ${mediaTypes.join(', ')}`);
      let body: unknown;
      try {
        body = JSON.parse(answer.body);
      } catch {
        problems.push(`${said}: the body is not JSON`);
      }
      if (problems.length === 0) {
        const valid = api.validateResponse(body, operation, answer.statusCode);
        for (const error of valid.errors ?? []) problems.push(`${said}: body${error.instancePath} ${error.message}`);
      }
      const headers = api.validateResponseHeaders(answer.headers, operation, { statusCode: answer.statusCode, setMatchType: SetMatchType.Superset });
      for (const error of headers.errors ?? []) problems.push(`${said}: headers${error.instancePath} ${error.message}`);
      return { operationId: operation.operationId, problems };
    },
  };
}
