// Shared by every storage adapter: the message id format (the gateway and clients see it, so
// all adapters must agree on it) and byte helpers.

/** A message id: its 8-byte mailbox position followed by 8 random bytes. */
export function messageIdOf(seq: number, tag: Uint8Array): Uint8Array {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setBigUint64(0, BigInt(seq));
  id.set(tag, 8);
  return id;
}

/** The mailbox position in a message id, or undefined for an id that cannot be ours. */
export function seqOf(messageId: Uint8Array): number | undefined {
  if (messageId.length !== 16) return undefined;
  const seq = new DataView(messageId.buffer, messageId.byteOffset, 16).getBigUint64(0);
  return seq > 0n && seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : undefined;
}

/** A Buffer view of the same bytes (no copy), as the database drivers want. */
export function blob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(blob(a), blob(b)) === 0;
}
