// For attack tests only: the raw ts-mls state inside a saved conversation, so a test can play
// a malicious member that builds messages the honest API would never produce.
import { ByteReader } from '@ghostproof/api';
import { cryptoProvider, ciphersuiteParams } from '@ghostproof/crypto';
import {
  clientStateDecoder,
  decode,
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
