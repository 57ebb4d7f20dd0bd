// Attachments: encrypted blobs (the key travels inside an MLS message, never here),
// streamed to disk under <data>/attachments without being held in memory whole, limited in
// size, and fetched by id with a capability token. Only the token's SHA-256 is stored; a
// download compares hashes in constant time, and an unknown id, an expired blob and a wrong
// token get the same answer. Files are written to tmp/, flushed, and renamed into place,
// so a crash leaves no half blob under a real id; tmp/ is emptied at startup.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readdirSync,
  rmSync,
  type ReadStream,
} from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ApiError,
  ATTACHMENT_ID_LENGTH,
  ATTACHMENT_TOKEN_LENGTH,
  fromBase64Url,
  toBase64Url,
} from '@ghostproof/api';
import type { Session } from './accounts.js';
import { sha256, type ServiceContext } from './context.js';

export interface UploadedAttachment {
  readonly id: string;
  readonly token: string;
  readonly size: number;
  readonly expiresAt: number;
}

export class AttachmentService {
  private readonly dir: string;
  private readonly tmp: string;

  constructor(private readonly ctx: ServiceContext) {
    this.dir = join(ctx.config.dataDir, 'attachments');
    this.tmp = join(this.dir, 'tmp');
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.tmp)) rmSync(join(this.tmp, name), { force: true });
  }

  private pathOf(id: Uint8Array): string {
    return join(this.dir, Buffer.from(id).toString('hex'));
  }

  /** Streams `body` to disk; 'too-large' as soon as it passes the limit. */
  async upload(
    session: Session,
    body: Readable,
    declaredLength: number | undefined,
  ): Promise<UploadedAttachment> {
    const { limits } = this.ctx.config;
    this.ctx.limiters.attachmentUploadsPerDevice.take(`${session.accountId}/${session.deviceId}`);
    if (declaredLength !== undefined && declaredLength > limits.attachmentBytes) {
      throw new ApiError('too-large', `attachment: over ${limits.attachmentBytes} bytes`);
    }
    const id = new Uint8Array(randomBytes(ATTACHMENT_ID_LENGTH));
    const token = new Uint8Array(randomBytes(ATTACHMENT_TOKEN_LENGTH));
    const tmpPath = join(this.tmp, Buffer.from(id).toString('hex'));
    let size = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        const out = createWriteStream(tmpPath, { flags: 'wx', mode: 0o600 });
        const fail = (error: unknown) => {
          body.unpipe(out);
          out.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
        };
        body.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.attachmentBytes) {
            fail(new ApiError('too-large', `attachment: over ${limits.attachmentBytes} bytes`));
          }
        });
        body.on('error', fail);
        body.on('aborted', () => fail(new ApiError('malformed', 'attachment: upload aborted')));
        out.on('error', fail);
        out.on('finish', resolve);
        body.pipe(out);
      });
      if (size === 0) throw new ApiError('malformed', 'attachment: empty');
      if (declaredLength !== undefined && size !== declaredLength) {
        throw new ApiError('malformed', 'attachment: length differs from Content-Length');
      }
      const handle = await open(tmpPath, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmpPath, this.pathOf(id));
    } catch (error) {
      await rm(tmpPath, { force: true });
      throw error;
    }
    const now = this.ctx.now();
    const expiresAt = now + this.ctx.config.attachmentTtlMs;
    await this.ctx.store.createAttachment(
      { id, tokenHash: sha256(token), size, createdAt: now, expiresAt },
      session,
    );
    this.ctx.metrics.attachmentBytes.inc(size);
    return { id: toBase64Url(id), token: toBase64Url(token), size, expiresAt };
  }

  /** The blob for a valid capability; 'not-found' for anything else. */
  async open(
    id: Uint8Array,
    capability: string | undefined,
    address: string,
  ): Promise<{ stream: ReadStream; size: number }> {
    this.ctx.limiters.attachmentDownloadsPerAddress.take(address);
    const notFound = new ApiError('not-found', 'attachment: not found');
    let presented: Uint8Array;
    try {
      presented = fromBase64Url(capability ?? '', 'capability', ATTACHMENT_TOKEN_LENGTH);
    } catch {
      throw notFound;
    }
    const record = await this.ctx.store.attachment(id, this.ctx.now());
    // Compare hashes of equal length in constant time; hash even when there is no record.
    const expected = record?.tokenHash ?? new Uint8Array(32);
    const matches = timingSafeEqual(sha256(presented), expected);
    if (!record || !matches || presented.length !== ATTACHMENT_TOKEN_LENGTH) throw notFound;
    const stream = createReadStream(this.pathOf(id));
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', () => reject(notFound));
    });
    return { stream, size: record.size };
  }

  /** Deletes the files of attachments whose records expired. */
  async deleteFiles(ids: readonly Uint8Array[]): Promise<void> {
    for (const id of ids) await rm(this.pathOf(id), { force: true });
  }
}
