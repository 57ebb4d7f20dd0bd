// `ghostproof attach <user|conversation> <file>`: the file is encrypted here with a fresh
// key, uploaded (the server stores ciphertext it cannot read), and a pointer with the key and
// the ciphertext's digest goes to the conversation inside an MLS message.
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { defineCommand } from '../cli/define.js';
import { CliError } from '../cli/errors.js';
import { conversationToSend, describeConversation } from '../session/names.js';
import { withOnlineSession } from '../session/session.js';
import { formatBytes } from '../ui/output.js';

const contentTypes: Record<string, string> = {
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
  '.zip': 'application/zip',
};

export const attach = defineCommand({
  name: 'attach',
  summary: 'send a file (encrypted; progress bar on upload)',
  usage: 'attach <user|conversation> <file> [--caption TEXT]',
  description: [
    'Encrypts <file> with a fresh key, uploads it and sends the recipients a pointer holding',
    'the key and digest. They get it with "ghostproof receive", which checks the digest.',
  ].join('\n'),
  options: { caption: { type: 'string', value: 'TEXT', description: 'a caption sent with the file' } },
  minArgs: 2,
  maxArgs: 2,
  async run({ settings, out, args, options }) {
    const path = args[1]!;
    let bytes: Uint8Array;
    try {
      if (!statSync(path).isFile()) throw new CliError(`${path} is not a file`);
      bytes = new Uint8Array(readFileSync(path));
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const fileName = basename(path);
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await conversationToSend(messenger, args[0]!);
      const progress = out.progress(`upload ${fileName}`);
      let messageId: string;
      try {
        messageId = await messenger.sendAttachment(
          info.id,
          {
            bytes,
            contentType: contentTypes[extname(fileName).toLowerCase()] ?? 'application/octet-stream',
            fileName,
            ...(typeof options.caption === 'string' ? { caption: options.caption } : {}),
          },
          (sent, total) => progress.update(sent, total),
        );
      } finally {
        progress.done();
      }
      const all = await messenger.listConversations();
      out.result(
        { conversation: info.id, message: messageId, file: fileName, size: bytes.length },
        `Sent ${fileName} (${formatBytes(bytes.length)}) to ${describeConversation(info, all)}`,
      );
    });
  },
});
