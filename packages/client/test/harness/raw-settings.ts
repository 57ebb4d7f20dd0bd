// A settings commit a member makes with ts-mls directly, from its own saved state, as code of
// its own making could: the honest SDK checks the settings rules before it commits and would
// never make it. Sent in the member's name through the harness (`requestAs`).
import { randomBytes } from 'node:crypto';
import { ByteReader } from '@ghostproof/api';
import { ciphersuiteParams, cryptoProvider } from '@ghostproof/crypto';
import { fromHex, type MemoryClientStore } from '@ghostproof/client';
import { encodeSettings, type ConversationSettings } from '@ghostproof/protocol';
import {
  clientStateDecoder,
  createCommit,
  decode,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  defaultProposalTypes,
  encode,
  getCiphersuiteImpl,
  makeCustomExtension,
  mlsMessageEncoder,
  unsafeTestingAuthenticationService,
} from 'ts-mls';
import type { MaliciousServer } from './malicious-server.js';

const CONVERSATION_EXTENSION = 0xff00;

/** Makes the commit from `viewer`'s saved state of conversation `id` and sends it as `viewer`. */
export async function sendRawSettingsCommit(
  harness: MaliciousServer,
  viewer: string,
  store: MemoryClientStore,
  id: string,
  settings: ConversationSettings,
): Promise<void> {
  const record = await store.getConversation(fromHex(id));
  if (!record) throw new Error('no such conversation');
  // The record: magic, library name, metadata, then the MLS state (see Conversation.record).
  const reader = new ByteReader(record, 'record');
  reader.u32();
  reader.bytes(reader.u16());
  reader.bytes(reader.u32());
  const state = decode(clientStateDecoder, reader.bytes(reader.u32()));
  if (!state) throw new Error('cannot decode state');
  const params = ciphersuiteParams(state.groupContext.cipherSuite);
  if (!params) throw new Error('unknown suite');
  const { commit } = await createCommit({
    context: {
      cipherSuite: await getCiphersuiteImpl(params.mlsName, cryptoProvider),
      authService: unsafeTestingAuthenticationService,
      clientConfig: {
        keyRetentionConfig: defaultKeyRetentionConfig,
        lifetimeConfig: defaultLifetimeConfig,
        keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
        paddingConfig: { kind: 'padUntilLength', padUntilLength: 0 },
      },
    },
    state,
    extraProposals: [
      {
        proposalType: defaultProposalTypes.group_context_extensions,
        groupContextExtensions: {
          extensions: [
            makeCustomExtension({
              extensionType: CONVERSATION_EXTENSION,
              extensionData: encodeSettings(settings),
            }),
          ],
        },
      },
    ],
  });
  const answer = await harness.requestAs(viewer, {
    case: 'sendCommit',
    value: {
      clientId: new Uint8Array(randomBytes(16)),
      commit: encode(mlsMessageEncoder, commit),
      welcome: new Uint8Array(0),
      remove: [],
    },
  });
  if (answer.body.case !== 'response' || answer.body.value.result.case !== 'accepted') {
    throw new Error('the server did not take the commit');
  }
}
