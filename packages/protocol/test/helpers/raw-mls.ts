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
import type { Conversation } from '@ghostproof/protocol';

export function rawState(conversation: Conversation): ClientState {
  const reader = new ByteReader(conversation.record(), 'record');
  reader.u32();
  reader.bytes(reader.u16());
  reader.bytes(reader.u32());
  const state = decode(clientStateDecoder, reader.bytes(reader.u32()));
  if (!state) throw new Error('cannot decode state');
  return state;
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

/**
 * The conversation's saved record with its MLS state replaced by `state` (no pending commit):
 * for tests that need a group as an earlier release made it.
 */
export function recordWithRawState(conversation: Conversation, state: ClientState): Uint8Array {
  const record = conversation.record();
  const reader = new ByteReader(record, 'record');
  const magic = reader.u32();
  const format = reader.bytes(reader.u16());
  const meta = reader.bytes(reader.u32());
  const encoded = encode(clientStateEncoder, state);
  return new ByteWriter()
    .u32(magic)
    .u16(format.length)
    .bytes(format)
    .u32(meta.length)
    .bytes(meta)
    .u32(encoded.length)
    .bytes(encoded)
    .u32(0)
    .u32(0)
    .u32(0)
    .finish();
}
