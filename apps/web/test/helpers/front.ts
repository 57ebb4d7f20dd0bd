// The stack a browser test talks to: a real Ghostproof server (the test kit's) on a random
// port, serving the built web client itself (webRoot), and in front of it, on another port, a small front that
// forwards every request and the WebSocket to it (src/build/serve.ts). The browser opens the
// front. The front plays the part of a malicious server, for the tests of what clients
// detect: `addGhostToRoutingLists` adds a mailbox to every routing list the server reports (a
// ghost member), by rewriting the server's WebSocket frames; `goOffline` cuts every WebSocket
// and refuses new ones until `goOnline`. `startStatic` serves a directory alone (test pages).
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { decodeServerFrame, encodeServerFrame } from '@ghostproof/api';
import type { GhostproofServer } from '@ghostproof/server';
import { fastKeyTransparency, startTestServer } from '@ghostproof/testkit';
import { forwardRequest, forwardUpgrade, serveFile, staticFile } from '../../src/build/serve.js';

export interface Stack {
  /** The origin the browser opens (the front). */
  readonly url: string;
  /** The server itself, for Node clients. */
  readonly serverUrl: string;
  readonly server: GhostproofServer;
  /** From now on, every routing list the server reports also names `ghost`. */
  addGhostToRoutingLists(ghost: { username: string; deviceId: number } | undefined): void;
  goOffline(): void;
  goOnline(): void;
  close(): Promise<void>;
}

function frameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x82, length]);
  if (length < 0x10000) {
    const header = Buffer.from([0x82, 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(10);
  header[0] = 0x82;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

/**
 * Rewrites the server-to-browser byte stream of one WebSocket: the HTTP handshake passes
 * unchanged, then each unfragmented binary frame goes through `rewrite`. Compression is never
 * negotiated (the front drops the extension header), so payloads are plain.
 */
function frameRewriter(rewrite: (payload: Buffer) => Buffer): (chunk: Buffer) => Buffer {
  let pending = Buffer.alloc(0);
  let handshakeDone = false;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const out: Buffer[] = [];
    if (!handshakeDone) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return Buffer.alloc(0);
      out.push(pending.subarray(0, end + 4));
      pending = pending.subarray(end + 4);
      handshakeDone = true;
    }
    for (;;) {
      if (pending.length < 2) break;
      const opcode = pending[0]! & 0x0f;
      const fin = (pending[0]! & 0x80) !== 0;
      let length = pending[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (pending.length < 4) break;
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (pending.length < 10) break;
        length = Number(pending.readBigUInt64BE(2));
        offset = 10;
      }
      if (pending.length < offset + length) break;
      const frame = pending.subarray(0, offset + length);
      const payload = pending.subarray(offset, offset + length);
      pending = pending.subarray(offset + length);
      if (opcode === 2 && fin) {
        const rewritten = rewrite(payload);
        out.push(rewritten === payload ? frame : Buffer.concat([frameHeader(rewritten.length), rewritten]));
      } else {
        out.push(frame);
      }
    }
    return Buffer.concat(out);
  };
}

/** Serves a directory alone, with the web client's headers (for the test pages). */
export async function startStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    const file = staticFile(root, new URL(req.url ?? '/', 'http://static').pathname);
    if (req.method === 'GET' && file) serveFile(req, res, file);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Serves a directory of test pages and, on the same origin, forwards every other request and
 * the WebSocket to a real server: a page's own Messenger talks to it as the web client does.
 * `serverUrl` is the server itself, for Node clients.
 */
export async function startPagesWithServer(
  root: string,
): Promise<{ url: string; serverUrl: string; close(): Promise<void> }> {
  const test = await startTestServer({ kt: fastKeyTransparency });
  const serverUrl = test.url;
  const backend = new URL(serverUrl);
  const sockets = new Set<{ destroy(): void }>();
  const front: Server = createHttpServer((req, res) => {
    const file = staticFile(root, new URL(req.url ?? '/', 'http://pages').pathname);
    if (req.method === 'GET' && file && !req.url?.startsWith('/v1/')) serveFile(req, res, file);
    else forwardRequest(backend, req, res);
  });
  front.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pair = forwardUpgrade(backend, req, socket, head);
    sockets.add(pair);
    socket.on('close', () => sockets.delete(pair));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    serverUrl,
    async close() {
      for (const pair of [...sockets]) pair.destroy();
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await test.stop();
    },
  };
}

export async function startStack(webRoot: string): Promise<Stack> {
  const test = await startTestServer({ webRoot });
  const serverUrl = test.url;
  const backend = new URL(serverUrl);
  let ghost: { username: string; deviceId: number } | undefined;
  let offline = false;
  const sockets = new Set<{ destroy(): void }>();

  const addGhost = (payload: Buffer): Buffer => {
    if (!ghost) return payload;
    let frame;
    try {
      frame = decodeServerFrame(payload);
    } catch {
      return payload;
    }
    if (frame.body.case !== 'response' || frame.body.value.result.case !== 'routingList') return payload;
    const list = frame.body.value.result.value;
    return Buffer.from(
      encodeServerFrame({
        body: {
          case: 'response',
          value: {
            requestId: frame.body.value.requestId,
            result: {
              case: 'routingList',
              value: { groupId: list.groupId, epoch: list.epoch, members: [...list.members, ghost] },
            },
          },
        },
      }),
    );
  };

  // The server serves the client (webRoot) itself: the front forwards every request.
  const front: Server = createHttpServer((req, res) => forwardRequest(backend, req, res));
  // WebSockets: the upgrade request is replayed to the server (without compression, so that
  // frames can be read) and the sockets joined.
  front.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (offline) {
      socket.destroy();
      return;
    }
    const pair = forwardUpgrade(backend, req, socket, head, frameRewriter(addGhost));
    sockets.add(pair);
    socket.on('close', () => sockets.delete(pair));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const port = (front.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    serverUrl,
    server: test.server,
    addGhostToRoutingLists(mailbox) {
      ghost = mailbox;
    },
    goOffline() {
      offline = true;
      for (const pair of [...sockets]) pair.destroy();
    },
    goOnline() {
      offline = false;
    },
    async close() {
      for (const pair of [...sockets]) pair.destroy();
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await test.stop();
    },
  };
}

/** Makes a fresh temporary directory; the caller removes it. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
