// Reading requests and writing Protocol Buffers answers: the address rate limits are keyed
// on, a request body bounded before and while it is read, and the one way a protobuf body is
// sent. Shared by the dispatcher (handler.ts) and the route handlers (route-handlers.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, PROTOBUF_CONTENT_TYPE } from '@ghostproof/api';

/** The address rate limits are keyed on; never logged. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const value = Array.isArray(forwarded) ? forwarded.at(-1) : forwarded;
    const last = value?.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** Reads a whole request body, refusing it ('too-large') as soon as it passes `max` bytes. */
export async function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max)
    throw new ApiError('too-large', `request body: over ${max} bytes`);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > max) throw new ApiError('too-large', `request body: over ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

export function sendProtobuf(res: ServerResponse, status: number, body: Uint8Array): void {
  res.writeHead(status, { 'Content-Type': PROTOBUF_CONTENT_TYPE, 'Content-Length': body.length });
  res.end(body);
}
