import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AttachmentUploadedSchema,
  CAPABILITY_HEADER,
  decodeResponse,
  ErrorBodySchema,
  toBase64Url,
  type AttachmentUploaded,
} from '@ghostproof/api';
import { startServer, TestAccount, type Harness } from './helpers/harness.js';

interface Reply {
  status: number;
  body: Buffer;
  code: string | undefined;
}

/** Uploads with node:http so that the body can be streamed in chunks, with or without a length. */
function upload(
  base: string,
  token: Uint8Array | undefined,
  chunks: Buffer[],
  declareLength = true,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (token) headers.authorization = `Bearer ${toBase64Url(token)}`;
    if (declareLength) headers['content-length'] = chunks.reduce((n, c) => n + c.length, 0);
    const req = request(new URL('/v1/attachments', base), { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body: Buffer.concat(parts),
          code: res.headers['ghostproof-error'] as string,
        }),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close the connection on an oversized upload before we finish writing.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET')
        resolve({ status: 413, body: Buffer.alloc(0), code: 'too-large' });
      else reject(error);
    });
    (async () => {
      for (const chunk of chunks) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

async function download(base: string, id: string, token: string | undefined): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers[CAPABILITY_HEADER] = token;
  const res = await fetch(new URL(`/v1/attachments/${id}`, base), { headers });
  return {
    status: res.status,
    body: Buffer.from(await res.arrayBuffer()),
    code: res.headers.get('ghostproof-error') ?? undefined,
  };
}

function uploaded(reply: Reply): AttachmentUploaded {
  assert.equal(reply.status, 200, reply.code);
  return decodeResponse(AttachmentUploadedSchema, reply.body, 4096);
}

describe('attachments', () => {
  let h: Harness;
  let now = Date.now();
  let token: Uint8Array;
  before(async () => {
    h = await startServer({
      limits: { attachmentBytes: 1024 * 1024 },
      attachmentTtlMs: 60_000,
      clock: () => now,
    });
    token = await (await (await TestAccount.create(h.url)).register()).signIn();
  });
  after(() => h.stop());

  it('streams an encrypted blob to disk and returns it for the capability token', async () => {
    const blob = new Uint8Array(randomBytes(700 * 1024));
    const chunks = [0, 1, 2, 3, 4, 5, 6].map((i) =>
      Buffer.from(blob.subarray(i * 100 * 1024, (i + 1) * 100 * 1024)),
    );
    const meta = uploaded(await upload(h.url, token, chunks, false));
    assert.equal(meta.size, BigInt(blob.length));
    const got = await download(h.url, meta.id, meta.token);
    assert.equal(got.status, 200);
    assert.deepEqual(new Uint8Array(got.body), blob);
  });

  it('gives the same not-found for a wrong token, a missing token and an unknown id', async () => {
    const meta = uploaded(await upload(h.url, token, [Buffer.from('ciphertext')]));
    const wrong = await download(h.url, meta.id, toBase64Url(crypto.getRandomValues(new Uint8Array(32))));
    const missing = await download(h.url, meta.id, undefined);
    const unknown = await download(
      h.url,
      toBase64Url(crypto.getRandomValues(new Uint8Array(16))),
      meta.token,
    );
    for (const r of [wrong, missing, unknown]) {
      assert.equal(r.status, 404);
      assert.equal(r.code, 'not-found');
      assert.deepEqual(decodeResponse(ErrorBodySchema, r.body, 4096).message, 'attachment: not found');
    }
  });

  it('refuses an upload over the limit, declared or streamed, and keeps nothing of it', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 7);
    const declared = await upload(h.url, token, [big]);
    assert.equal(declared.status, 413);
    const streamed = await upload(h.url, token, [big.subarray(0, 600_000), big.subarray(600_000)], false);
    assert.equal(streamed.status, 413);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(readdirSync(join(h.dataDir, 'attachments', 'tmp')), []);
  });

  it('requires a session to upload', async () => {
    const reply = await upload(h.url, undefined, [Buffer.from('x')]);
    assert.equal(reply.status, 401);
    assert.equal(reply.code, 'unauthenticated');
  });

  it('expires blobs and deletes their files', async () => {
    const meta = uploaded(await upload(h.url, token, [Buffer.from('expiring ciphertext')]));
    const filesBefore = readdirSync(join(h.dataDir, 'attachments')).length;
    now += 61_000;
    await h.server.sweep();
    assert.equal((await download(h.url, meta.id, meta.token)).status, 404);
    assert.ok(readdirSync(join(h.dataDir, 'attachments')).length < filesBefore);
  });
});
