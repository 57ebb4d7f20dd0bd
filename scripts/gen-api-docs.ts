// Writes the HTTP route table of docs/api.md from the route declarations in
// packages/api/src/routes.ts (between the route-table markers; the prose stays as written).
// Run by `npm run docs:api`; packages/api/test/route-docs.test.ts fails while it is due.
import { readFileSync, writeFileSync } from 'node:fs';
import { withRouteTable } from '@ghostproof/api';

const path = new URL('../docs/api.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withRouteTable(before);
if (after === before) {
  console.log('docs/api.md: the route table is up to date');
} else {
  writeFileSync(path, after);
  console.log('docs/api.md: route table written');
}
