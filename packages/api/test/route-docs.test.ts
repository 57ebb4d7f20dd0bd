import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderRouteTable, routeList, withRouteTable } from '@ghostproof/api';

const apiDoc = new URL('../../../docs/api.md', import.meta.url);

describe('docs/api.md route table', () => {
  it('is the table generated from the route declarations (run `npm run docs:api`)', () => {
    const doc = readFileSync(apiDoc, 'utf8');
    assert.equal(doc, withRouteTable(doc), 'docs/api.md is out of date: run `npm run docs:api`');
  });

  it('has a row for every route, with every code it declares', () => {
    const rows = renderRouteTable().split('\n').slice(2);
    assert.equal(rows.length, routeList.length);
    routeList.forEach((route, i) => {
      assert.ok(rows[i]!.includes(`\`${route.method} ${route.path}\``), route.name);
      for (const code of route.errors) assert.ok(rows[i]!.includes(`\`${code}\``), `${route.name}: ${code}`);
    });
  });

  it('refuses a document without its markers instead of writing the table anywhere', () => {
    assert.throws(() => withRouteTable('# API\n\nno markers here\n'), /markers/);
  });
});
