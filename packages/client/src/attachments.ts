// Attachments: each file is encrypted under a fresh key, uploaded as an opaque blob, and sent
// as a pointer (id, key, digest) inside an ordinary message; downloads are checked against the
// digest before they are opened.
import { createPlatformPrimitives } from '@ghostproof/crypto';
import type { Content } from '@ghostproof/protocol';
import { toHex } from './bytes.js';
import { ClientError } from './errors.js';
import type { HttpApi } from './http.js';
import type { AttachmentInfo } from './store.js';

/** A fresh key per blob: the all-zero nonce is used exactly once. */
const NONCE = new Uint8Array(12);
const NO_AAD = new Uint8Array(0);
const GCM_TAG_BYTES = 16;

export class Attachments {
  constructor(
    private readonly http: HttpApi,
    private readonly sessionToken: (refresh: boolean) => Promise<Uint8Array>,
    /** Sends content in a conversation (sending.ts). */
    private readonly send: (id: string, body: Content['body']) => Promise<string>,
  ) {}

  /** See Messenger.sendAttachment. @throws as Messenger.sendAttachment. */
  async sendAttachment(
    id: string,
    file: { bytes: Uint8Array; contentType: string; fileName: string; caption?: string },
    onProgress?: (sent: number, total: number) => void,
  ): Promise<string> {
    const platform = await createPlatformPrimitives();
    const key = platform.randomBytes(32);
    const blob = await platform.aesGcmSeal(key, NONCE, NO_AAD, file.bytes);
    const digest = await platform.digest('SHA-256', blob);
    const uploaded = await this.http.uploadBlob(blob, await this.sessionToken(false), onProgress);
    return this.send(id, {
      case: 'attachment',
      value: {
        $typeName: 'ghostproof.content.v1.Attachment',
        id: uploaded.id,
        key,
        digest,
        size: BigInt(file.bytes.length),
        contentType: file.contentType,
        fileName: file.fileName,
        token: uploaded.token,
        caption: file.caption ?? '',
      },
    });
  }

  /** See Messenger.downloadAttachment. @throws as Messenger.downloadAttachment. */
  async downloadAttachment(
    attachment: AttachmentInfo,
    onProgress?: (received: number, total: number) => void,
  ): Promise<Uint8Array> {
    const platform = await createPlatformPrimitives();
    const blob = await this.http.downloadBlob(
      attachment.id,
      attachment.token,
      attachment.size + GCM_TAG_BYTES,
      onProgress,
    );
    const digest = await platform.digest('SHA-256', blob);
    if (toHex(digest) !== toHex(attachment.digest)) {
      throw new ClientError('attachment-corrupted', 'attachment digest does not match');
    }
    return platform.aesGcmOpen(attachment.key, NONCE, NO_AAD, blob);
  }
}
