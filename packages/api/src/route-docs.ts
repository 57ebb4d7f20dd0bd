// The HTTP route table of docs/api.md, generated from the route declarations (routes.ts)
// so that the documented answers of a route are the codes its handler is held to. The
// table sits between two marker comments; the prose around it is written by hand.
// `npm run docs:api` writes it, and a test fails when the file is out of date.
import { apiErrorCodes, apiErrorTable } from './errors.js';
import { defaultLimits } from './limits.js';
import { routeList, type Route } from './routes.js';

export const ROUTE_TABLE_START =
  '<!-- route-table: generated from packages/api/src/routes.ts by `npm run docs:api`; do not edit -->';
export const ROUTE_TABLE_END = '<!-- /route-table -->';

function schemaName(schema: { readonly typeName: string }): string {
  return `\`${schema.typeName.split('.').at(-1)}\``;
}

function bodies(r: Route): string {
  let request: string;
  if (r.request) request = schemaName(r.request);
  else if (r.maxRequestBytes(defaultLimits) > 0) request = 'blob';
  else request = r.method === 'GET' ? '–' : 'empty';
  return `${request} → ${r.response ? schemaName(r.response) : 'blob'}`;
}

function answers(r: Route): string {
  // By status, then in the order of the error table, so that every row reads alike.
  const codes = apiErrorCodes
    .filter((code) => r.errors.includes(code))
    .sort((a, b) => apiErrorTable[a].status - apiErrorTable[b].status);
  return ['200', ...codes.map((code) => `${apiErrorTable[code].status} \`${code}\``)].join(', ');
}

/** The table, aligned as Prettier aligns Markdown tables. */
export function renderRouteTable(list: readonly Route[] = routeList): string {
  const header = ['route', 'auth', 'request → response', 'answers'];
  const rows = list.map((r) => [`\`${r.method} ${r.path}\``, r.auth, bodies(r), answers(r)]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => [...row[i]!].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `doc` with the text between the route-table markers replaced by `table`. */
export function withRouteTable(doc: string, table: string = renderRouteTable()): string {
  const start = doc.indexOf(ROUTE_TABLE_START);
  const end = doc.indexOf(ROUTE_TABLE_END);
  if (start < 0 || end < start) throw new Error('route table: markers missing or out of order');
  return `${doc.slice(0, start + ROUTE_TABLE_START.length)}\n\n${table}\n\n${doc.slice(end)}`;
}
