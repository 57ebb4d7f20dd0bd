// Every hash of the key transparency structures except the RFC 9162 log tree's own, each
// under its own domain-separation tag: the tag is a fixed ASCII string ending in a zero byte,
// and no tag is a prefix of another, so no two structures can ever hash the same input.
// docs/key-transparency.md lists every tag and what follows it.
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteWriter, utf8 } from './bytes.js';

function tag(name: string): Uint8Array {
  return utf8(`ghostproof/kt/v1/${name}\0`);
}

export const TAG_PREFIX_LEAF = tag('prefix-leaf');
export const TAG_PREFIX_NODE = tag('prefix-node');
export const TAG_PREFIX_EMPTY = tag('prefix-empty');
export const TAG_HISTORY = tag('history');
export const TAG_COMMITMENT = tag('commitment');
export const TAG_LOG_ENTRY = tag('log-entry');
export const TAG_ACCOUNT = tag('account');

export const LABEL_LENGTH = 32;
export const NONCE_LENGTH = 32;
/** The history head before the first version of an account. */
export const ZERO_HEAD: Uint8Array = new Uint8Array(32);

/** The hash of an empty subtree of the prefix tree. */
export const EMPTY_PREFIX_HASH: Uint8Array = sha256(TAG_PREFIX_EMPTY);

function u64(out: Uint8Array, offset: number, v: number): void {
  const hi = Math.floor(v / 2 ** 32);
  const lo = v >>> 0;
  out[offset] = hi >>> 24;
  out[offset + 1] = (hi >>> 16) & 255;
  out[offset + 2] = (hi >>> 8) & 255;
  out[offset + 3] = hi & 255;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = (lo >>> 16) & 255;
  out[offset + 6] = (lo >>> 8) & 255;
  out[offset + 7] = lo & 255;
}

const leafBuf = new Uint8Array(TAG_PREFIX_LEAF.length + 32 + 8 + 32);
leafBuf.set(TAG_PREFIX_LEAF);
/** SHA-256(tag ‖ label ‖ u64 version ‖ history head). */
export function hashPrefixLeaf(label: Uint8Array, version: number, head: Uint8Array): Uint8Array {
  let o = TAG_PREFIX_LEAF.length;
  leafBuf.set(label, o);
  o += 32;
  u64(leafBuf, o, version);
  leafBuf.set(head, o + 8);
  return sha256(leafBuf);
}

const nodeBuf = new Uint8Array(TAG_PREFIX_NODE.length + 64);
nodeBuf.set(TAG_PREFIX_NODE);
/** SHA-256(tag ‖ left ‖ right). */
export function hashPrefixNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeBuf.set(left, TAG_PREFIX_NODE.length);
  nodeBuf.set(right, TAG_PREFIX_NODE.length + 32);
  return sha256(nodeBuf);
}

const historyBuf = new Uint8Array(TAG_HISTORY.length + 32 + 8 + 32);
historyBuf.set(TAG_HISTORY);
/**
 * head_v = SHA-256(tag ‖ head_{v-1} ‖ u64 v ‖ commitment_v), head_0 = 32 zero bytes: a hash
 * chain over every version's commitment, so that one prefix-tree leaf commits to the whole
 * history of an account and a monitor can check every version with one path.
 */
export function hashHistory(previousHead: Uint8Array, version: number, commitment: Uint8Array): Uint8Array {
  let o = TAG_HISTORY.length;
  historyBuf.set(previousHead, o);
  o += 32;
  u64(historyBuf, o, version);
  historyBuf.set(commitment, o + 8);
  return sha256(historyBuf);
}

/**
 * commitment = SHA-256(tag ‖ nonce ‖ label ‖ u64 version ‖ u32 len(value) ‖ value). The
 * 32-byte random nonce hides the value from anyone who is not given the opening; the label
 * and version bind the commitment to its place, so it cannot be replayed elsewhere.
 */
export function commitValue(
  nonce: Uint8Array,
  label: Uint8Array,
  version: number,
  value: Uint8Array,
): Uint8Array {
  return sha256(
    new ByteWriter().bytes(TAG_COMMITMENT).bytes(nonce).bytes(label).u64(version).varBytes(value).finish(),
  );
}
