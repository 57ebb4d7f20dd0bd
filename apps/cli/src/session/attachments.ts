// Received files: downloaded, checked against the digest the sender put in the encrypted
// pointer (the SDK refuses a mismatch), decrypted, and saved under a name that cannot leave
// the target folder or overwrite an existing file. The name comes from the sender, so it is
// reduced to a safe base name first.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Messenger, StoredMessage } from '@ghostproof/client';
import type { Output } from '../ui/output.js';

/** A base name without path separators, control characters or leading dots; never empty. */
export function safeFileName(name: string): string {
  const base = basename(name.replaceAll('\\', '/'))
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f/:*?"<>|]/g, '_')
    .replace(/^\.+/, '')
    .trim()
    .slice(0, 200);
  return base === '' ? 'attachment' : base;
}

function freePath(dir: string, name: string): string {
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  let candidate = join(dir, name);
  for (let n = 1; existsSync(candidate); n++) candidate = join(dir, `${stem} (${n})${extension}`);
  return candidate;
}

export interface SavedFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export async function saveAttachment(
  messenger: Messenger,
  message: StoredMessage,
  dir: string,
  out: Output,
): Promise<SavedFile> {
  const attachment = message.attachment!;
  const name = safeFileName(attachment.fileName);
  const progress = out.progress(`download ${name}`);
  let bytes: Uint8Array;
  try {
    bytes = await messenger.downloadAttachment(attachment, (received, total) =>
      progress.update(received, total),
    );
  } finally {
    progress.done();
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = freePath(dir, name);
  writeFileSync(path, bytes, { flag: 'wx', mode: 0o600 });
  return { path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
