// docs/ARCHITECTURE.md's diagram against the synthesized app: every box is a construct of the
// stacks, every main construct has a box, and the ALB's labelled arrows are its path rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { SERVICE_ROUTES } from '../../lib/stack/surge-stack';
import { buildSurgeApp } from '../helpers/app';

const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'ARCHITECTURE.md'), 'utf8');
const diagram = doc.split('```mermaid\n')[1].split('```')[0];
const surge = buildSurgeApp('dev');

/** Node IDs declared in the diagram (`Id[...]`, `Id(...)`, `Id{{...}}`, `Id[[...]]`). */
const nodes = [...diagram.matchAll(/^\s+(\w+)[[({]/gm)].map((m) => m[1]);
const EXTERNAL = new Set(['Viewer']);

/** IDs of both stacks' direct children that create CloudFormation resources (outputs, parameters and CDK-internal providers excluded). */
function mainConstructs(): string[] {
  return [surge.stack, surge.wafStack].flatMap((stack) =>
    stack.node.children
      .filter((c): c is Construct => c instanceof Construct && /^[A-Z][A-Za-z]+$/.test(c.node.id))
      .filter((c) => c.node.findAll().some((d) => (d as { cfnResourceType?: string }).cfnResourceType !== undefined))
      .map((c) => c.node.id),
  );
}

test('every box is a construct of the app', () => {
  const known = new Set(mainConstructs());
  expect(nodes.filter((id) => !EXTERNAL.has(id) && !known.has(id))).toEqual([]);
});

test('every construct that creates resources has a box', () => {
  const drawn = new Set(nodes);
  const missing = mainConstructs().filter((id) => !drawn.has(id));
  expect(missing).toEqual([]);
});

test('the load balancer arrows carry exactly the ALB path rules', () => {
  for (const [service, route] of Object.entries(SERVICE_ROUTES)) {
    const fleet = `${service[0].toUpperCase()}${service.slice(1)}Fleet`;
    const arrow = new RegExp(`LoadBalancer -->\\|"([^"]+)"\\| ${fleet}\\b`).exec(diagram);
    expect({ fleet, paths: arrow?.[1] }).toEqual({ fleet, paths: route.pathPatterns.join(', ') });
  }
});

test('only the worker fleet touches the queues, as the IAM grants say', () => {
  const queueArrows = diagram.split('\n').filter((line) => /Queue\b/.test(line) && /-->/.test(line));
  expect(queueArrows.length).toBe(4);
  for (const line of queueArrows) expect(line).toMatch(/WorkerFleet/);
});

test('the README embeds the same diagram', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  expect(readme.split('```mermaid\n')[1]?.split('```')[0]).toBe(diagram);
});
