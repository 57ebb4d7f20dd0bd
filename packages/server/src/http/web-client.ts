// The built web client (apps/web, `npm run build:web`) served at `/`, with the strict policy
// the client is built for, and its bundle manifest at a well-known path so that anyone can
// compare what this server serves with a build of the source (docs/web.md). Only the files
// the manifest lists are served, each checked against its SHA-256 when the server starts:
// nothing else in the directory is reachable, and a file changed after the build stops the
// server from starting instead of being served under a manifest that does not describe it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../config.js';

export const WEB_BUNDLE_MANIFEST_PATH = '/.well-known/ghostproof-web-bundle.json';
const MANIFEST_FILE = 'ghostproof-web-bundle.json';

/** The client's policy; the same string as apps/web/src/build/headers.ts (a web test checks). */
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

interface WebFile {
  readonly body: Buffer;
  readonly gzipped: Buffer | undefined;
  readonly type: string;
  readonly cacheControl: string;
}

export interface WebClient {
  readonly bundleSha256: string;
  /** Answers a GET or HEAD for one of the client's paths; false for any other request. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
}

function file(body: Buffer, path: string, cacheControl: string): WebFile {
  const type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
  const compressible = /^(text\/|application\/json)/.test(type);
  return { body, gzipped: compressible ? gzipSync(body) : undefined, type, cacheControl };
}

/** Loads and checks a build; throws ConfigError when it is missing or does not match its manifest. */
export function loadWebClient(root: string): WebClient {
  let manifest: { version: number; bundleSha256: string; files: Record<string, string> };
  let manifestBytes: Buffer;
  try {
    manifestBytes = readFileSync(join(root, MANIFEST_FILE));
    manifest = JSON.parse(manifestBytes.toString('utf8')) as typeof manifest;
  } catch {
    throw new ConfigError(`webRoot: no ${MANIFEST_FILE} in ${root} (run npm run build:web)`);
  }
  if (manifest.version !== 1 || typeof manifest.files !== 'object' || !manifest.files['index.html']) {
    throw new ConfigError(`webRoot: ${MANIFEST_FILE} is not a version 1 manifest with an index.html`);
  }
  const files = new Map<string, WebFile>();
  let listing = '';
  for (const path of Object.keys(manifest.files).sort((a, b) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  )) {
    if (path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new ConfigError(`webRoot: bad path in ${MANIFEST_FILE}`);
    }
    let body: Buffer;
    try {
      body = readFileSync(join(root, path));
    } catch {
      throw new ConfigError(`webRoot: ${path} is listed in ${MANIFEST_FILE} but missing`);
    }
    const hash = createHash('sha256').update(body).digest('hex');
    if (hash !== manifest.files[path]) {
      throw new ConfigError(`webRoot: ${path} does not match ${MANIFEST_FILE} (rebuild the client)`);
    }
    listing += `${hash}  ${path}\n`;
    // Names under assets/ carry content hashes: cached for good. The rest is checked each time.
    const cache = path.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    files.set(`/${path}`, file(body, path, cache));
  }
  if (createHash('sha256').update(listing).digest('hex') !== manifest.bundleSha256) {
    throw new ConfigError(`webRoot: bundleSha256 in ${MANIFEST_FILE} does not match the files`);
  }
  files.set('/', files.get('/index.html')!);
  files.set(WEB_BUNDLE_MANIFEST_PATH, file(manifestBytes, MANIFEST_FILE, 'no-cache'));

  return {
    bundleSha256: manifest.bundleSha256,
    serve(req, res, pathname) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const found = files.get(pathname);
      if (!found) return false;
      const accepts = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const gzip = accepts ? found.gzipped : undefined;
      const body = gzip ?? found.body;
      res.setHeader('Content-Security-Policy', WEB_CSP);
      res.setHeader('Cache-Control', found.cacheControl);
      res.setHeader('Vary', 'Accept-Encoding');
      res.writeHead(200, {
        'Content-Type': found.type,
        'Content-Length': body.length,
        ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
