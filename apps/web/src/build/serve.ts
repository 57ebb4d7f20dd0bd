// Serving the built client beside a server that does not serve it itself yet: static files
// from the build with the headers the client needs (headers.ts), and every other request and
// the WebSocket forwarded to the server, so that the browser sees one origin. The browser
// tests use the same pieces (test/helpers/front.ts).
import { readFileSync, statSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CONTENT_TYPES, WEB_HEADERS } from './headers.js';

/** The file under `root` a path names (`/` is index.html), or undefined; never outside root. */
export function staticFile(root: string, pathname: string): string | undefined {
  let relative: string;
  try {
    relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  } catch {
    return undefined;
  }
  const base = normalize(root).replace(/[\\/]+$/, '');
  const path = normalize(join(base, relative));
  if (!path.startsWith(base + sep)) return undefined;
  try {
    return statSync(path).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Sends one file with the client's headers; gzip'd (zlib's default level) if asked and accepted. */
export function serveFile(req: IncomingMessage, res: ServerResponse, file: string, gzip = false): void {
  const plain = readFileSync(file);
  const compress = gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = compress ? gzipSync(plain) : plain;
  res.writeHead(200, {
    ...WEB_HEADERS,
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': 'no-cache',
    ...(compress ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Forwards a request to the server and its answer back, unchanged. */
export function forwardRequest(backend: URL, req: IncomingMessage, res: ServerResponse): void {
  const upstream = httpRequest(
    { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}

/**
 * Replays a WebSocket upgrade to the server and joins the two sockets. Without compression
 * (the extension header is dropped) so that `fromServer`, if given, sees plain frames.
 */
export function forwardUpgrade(
  backend: URL,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  fromServer?: (chunk: Buffer) => Buffer,
): { destroy(): void } {
  const upstream: Socket = connect(Number(backend.port), backend.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() === 'sec-websocket-extensions') continue;
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    if (fromServer) {
      upstream.on('data', (chunk: Buffer) => {
        const out = fromServer(chunk);
        if (out.length > 0) socket.write(out);
      });
    } else {
      upstream.pipe(socket);
    }
    socket.pipe(upstream);
  });
  const destroy = () => {
    upstream.destroy();
    socket.destroy();
  };
  for (const end of [upstream, socket]) {
    end.on('error', destroy);
    end.on('close', destroy);
  }
  return { destroy };
}

export interface WebFront {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `webRoot` and forwards everything else to the server at `backendUrl`. */
export async function startWebFront(options: {
  webRoot: string;
  backendUrl: string;
  host?: string;
  port?: number;
  gzip?: boolean;
}): Promise<WebFront> {
  const backend = new URL(options.backendUrl);
  const sockets = new Set<{ destroy(): void }>();
  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://front').pathname;
    const file =
      req.method === 'GET' || req.method === 'HEAD' ? staticFile(options.webRoot, pathname) : undefined;
    if (file) serveFile(req, res, file, options.gzip);
    else forwardRequest(backend, req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pair = forwardUpgrade(backend, req, socket, head);
    sockets.add(pair);
    socket.on('close', () => sockets.delete(pair));
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`,
    async close() {
      for (const pair of sockets) pair.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
