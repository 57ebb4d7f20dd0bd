// For attack tests only: the raw ts-mls state inside a saved conversation, so a test can play
// a malicious member that builds messages the honest API would never produce.
import { ByteReader, ByteWriter } from '@ghostproof/api';
import { cryptoProvider, ciphersuiteParams } from '@ghostproof/crypto';
import {
  clientStateDecoder,
  clientStateEncoder,
  decode,
  encode,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  getCiphersuiteImpl,
  unsafeTestingAuthenticationService,
  type ClientState,
  type MlsContext,
} from 'ts-mls';
import { credentialAddress, type Conversation } from '@ghostproof/protocol';

export function rawState(conversation: Conversation): ClientState {
  const reader = new ByteReader(conversation.record(), 'record');
  reader.u32();
  reader.bytes(reader.u16());
  reader.bytes(reader.u32());
  const state = decode(clientStateDecoder, reader.bytes(reader.u32()));
  if (!state) throw new Error('cannot decode state');
  return state;
}

/** The leaf index of `username`'s device in the conversation's ratchet tree. */
export function leafIndexOf(conversation: Conversation, username: string, deviceId = 1): number {
  const tree = rawState(conversation).ratchetTree;
  for (let node = 0; node < tree.length; node += 2) {
    const entry = tree[node];
    if (entry?.nodeType !== 1) continue;
    const address = credentialAddress(entry.leaf.credential);
    if (address?.username === username && address.deviceId === deviceId) return node / 2;
  }
  throw new Error(`${username}/${deviceId} is not on the roster`);
}

/** An attacker's MLS context: it skips every credential check on its own side. */
export async function attackerContext(cipherSuite: number): Promise<MlsContext> {
  return {
    cipherSuite: await getCiphersuiteImpl(ciphersuiteParams(cipherSuite)!.mlsName, cryptoProvider),
    authService: unsafeTestingAuthenticationService,
    clientConfig: {
      keyRetentionConfig: defaultKeyRetentionConfig,
      lifetimeConfig: defaultLifetimeConfig,
      keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
      paddingConfig: { kind: 'padUntilLength', padUntilLength: 0 },
    },
  };
}

/** The parts of a saved conversation record (conversation.ts `record()`), to rebuild one. */
interface RecordParts {
  format: Uint8Array;
  meta: Record<string, unknown>;
  state: ClientState;
  pending?: {
    meta: Record<string, unknown>;
    newState: ClientState;
    commit: Uint8Array;
    welcome?: Uint8Array;
  };
}

function readRecord(record: Uint8Array): RecordParts & { pendingBytes: Uint8Array[] } {
  const reader = new ByteReader(record, 'record');
  reader.u32();
  const format = reader.bytes(reader.u16());
  const meta = JSON.parse(new TextDecoder().decode(reader.bytes(reader.u32()))) as Record<string, unknown>;
  const state = decode(clientStateDecoder, reader.bytes(reader.u32()))!;
  const pendingBytes = [reader.bytes(reader.u32()), reader.bytes(reader.u32()), reader.bytes(reader.u32())];
  return { format, meta, state, pendingBytes };
}

/**
 * A saved record of `conversation` with its MLS state (and optionally a pending commit)
 * replaced: a conversation as another library release, or an older client, left it.
 */
export function recordWith(
  conversation: Conversation,
  replace: { state?: ClientState; pending?: RecordParts['pending'] },
): Uint8Array {
  const parts = readRecord(conversation.record());
  const meta = { ...parts.meta, pending: replace.pending?.meta };
  const writer = new ByteWriter().u32(0x47504331);
  writer.u16(parts.format.length).bytes(parts.format);
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
  writer.u32(metaBytes.length).bytes(metaBytes);
  const state = encode(clientStateEncoder, replace.state ?? parts.state);
  writer.u32(state.length).bytes(state);
  const pendingState = replace.pending
    ? encode(clientStateEncoder, replace.pending.newState)
    : new Uint8Array(0);
  writer.u32(pendingState.length).bytes(pendingState);
  const commit = replace.pending?.commit ?? new Uint8Array(0);
  writer.u32(commit.length).bytes(commit);
  const welcome = replace.pending?.welcome ?? new Uint8Array(0);
  writer.u32(welcome.length).bytes(welcome);
  return writer.finish();
}

/**
 * The conversation's saved record with its MLS state replaced by `state` (no pending commit):
 * for tests that need a group as an earlier release made it.
 */
export function recordWithRawState(conversation: Conversation, state: ClientState): Uint8Array {
  return recordWith(conversation, { state });
}
