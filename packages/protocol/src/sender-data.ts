// The sender data of a PrivateMessage (RFC 9420 §6.3.2): which leaf sent it and at which
// generation of its ratchet. ts-mls decrypts it inside processMessage and does not return it,
// and its failures carry only a message text; the conversation reads it itself, with the
// same key schedule steps and the suite's own KDF and AEAD, to tell a replayed message from
// one too far ahead without matching ts-mls's words, and to notice generations that never
// arrive. Nothing here decides whether a message is authentic: processMessage still does.
import { ByteReader, ByteWriter, mlsVectors } from '@ghostproof/api';
import type { CiphersuiteImpl, PrivateMessage } from 'ts-mls';

export interface SenderData {
  readonly leafIndex: number;
  readonly generation: number;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** RFC 9420 §8: ExpandWithLabel(Secret, Label, Context, Length). */
async function expandWithLabel(
  cs: CiphersuiteImpl,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const info = new ByteWriter()
    .u16(length)
    .bytes(mlsVectors(utf8(`MLS 1.0 ${label}`), context))
    .finish();
  return cs.kdf.expand(secret, info, length);
}

/** The sender data under `senderDataSecret`, or undefined if it does not decrypt. */
export async function readSenderData(
  cs: CiphersuiteImpl,
  senderDataSecret: Uint8Array,
  message: PrivateMessage,
): Promise<SenderData | undefined> {
  const sample = message.ciphertext.subarray(0, Math.min(cs.kdf.size, message.ciphertext.length));
  const key = await expandWithLabel(cs, senderDataSecret, 'key', sample, cs.hpke.keyLength);
  const nonce = await expandWithLabel(cs, senderDataSecret, 'nonce', sample, cs.hpke.nonceLength);
  const aad = new ByteWriter()
    .bytes(mlsVectors(message.groupId))
    .u64(message.epoch)
    .u8(message.contentType)
    .finish();
  let plain: Uint8Array;
  try {
    plain = await cs.hpke.decryptAead(key, nonce, aad, message.encryptedSenderData);
  } catch {
    return undefined;
  }
  try {
    const reader = new ByteReader(plain, 'sender data');
    const leafIndex = reader.u32();
    const generation = reader.u32();
    reader.bytes(4); // reuse guard
    reader.end();
    return { leafIndex, generation };
  } catch {
    return undefined;
  }
}
