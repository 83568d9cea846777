// The checker the contract and fuzz tests rely on must be able to fail: each kind of wrong answer
// (undocumented status, wrong content type, body off its schema, documented header missing) is named.
import type { Document } from 'openapi-backend';
import { buildApp } from '../../platform/app';
import { createTestContext } from '../../test-support/testing';
import { createDocumentChecker, type DocumentChecker } from './document-checker';
import { FLEETS } from './fleets';

let checker: DocumentChecker;
beforeAll(async () => {
  const ctx = await createTestContext({ databaseUrl: 'postgres://unused@127.0.0.1:1/unused' });
  const app = await buildApp(ctx, FLEETS.find(([name]) => name === 'local')![1]);
  const document: Document = (await app.inject({ url: '/openapi.json' })).json();
  await app.close();
  await ctx.close();
  checker = await createDocumentChecker(document);
});

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const error = JSON.stringify({ error: 'too_many_requests', message: 'slow down' });

it('accepts an answer the document describes', () => {
  expect(checker.check('GET', '/api/products?limit=1', { statusCode: 429, headers: { ...JSON_TYPE, 'retry-after': '3' }, body: error })).toEqual({
    operationId: 'listProducts',
    problems: [],
  });
});

it.each([
  ['an undocumented status', { statusCode: 418, headers: JSON_TYPE, body: error }, /status 418 is not documented for listProducts/],
  ['a content type the document does not list', { statusCode: 200, headers: { 'content-type': 'text/html' }, body: '{"items":[],"nextCursor":null}' }, /content type "text\/html"/],
  ['a body off its schema', { statusCode: 200, headers: JSON_TYPE, body: '{"items":[{"id":"x"}],"nextCursor":null}' }, /body\/items\/0 must have required property/],
  ['a missing documented header', { statusCode: 429, headers: JSON_TYPE, body: error }, /must have required property 'retry-after'/],
  ['a body that is not JSON', { statusCode: 200, headers: JSON_TYPE, body: '<html>' }, /the body is not JSON/],
])('names %s', (_what, answer, problem) => {
  const { problems } = checker.check('GET', '/api/products', answer);
  expect(problems.join('\n')).toMatch(problem);
});
