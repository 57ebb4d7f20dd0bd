// A self-check of the MLS library this package runs on, done once before any conversation
// exists. ts-mls 2.0.0-rc.10 left the update path out of a commit that removes exactly one
// member, so the removed member could derive the next epoch (docs/protocol.md, "ts-mls
// patch"). The project applies a patch at install; an install that skipped it
// (`--ignore-scripts`) or a copy of the packages made elsewhere would run the unsafe rule
// silently. So before anything runs, a throwaway group proves the rules in the library
// actually loaded: a commit removing one member (and adding one into the freed leaf) carries
// a path, the remaining member moves to the committer's epoch, and the removed member ends up
// removed without an error. Then a GroupContextExtensions commit (how conversation settings
// change) must carry a path that the other member can decrypt: rc.10 encrypted it under the
// old group context.
import { constantTimeEqual, createCryptoProvider } from '@ghostproof/crypto';
import * as tsMls from 'ts-mls';
import type { AuthenticationService, CiphersuiteImpl, ClientState, MlsContext } from 'ts-mls';
import { ProtocolError } from './errors.js';

/** The parts of ts-mls the check drives; a test passes another build of the library. */
export type MlsLibrary = Pick<
  typeof tsMls,
  | 'createCommit'
  | 'createGroup'
  | 'decode'
  | 'defaultCapabilities'
  | 'defaultCredentialTypes'
  | 'defaultKeyPackageEqualityConfig'
  | 'defaultLifetimeConfig'
  | 'defaultProposalTypes'
  | 'encode'
  | 'generateKeyPackage'
  | 'getCiphersuiteImpl'
  | 'joinGroup'
  | 'makeCustomExtension'
  | 'mlsMessageDecoder'
  | 'mlsMessageEncoder'
  | 'processMessage'
  | 'wireformats'
>;

/** A private-use group context extension, as Ghostproof's conversation settings are. */
const CHECK_EXTENSION = 0xff00;

/** Suite 1: the check is about the commit rules, which do not depend on the suite. */
const CHECK_SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

/**
 * Throws ProtocolError('nonconforming-mls') unless `mls` puts an update path in a commit that
 * removes one member and lets the removed member process that commit as a removal.
 */
export async function checkMlsConformance(mls: MlsLibrary = tsMls): Promise<void> {
  const failure = await findConformanceFailure(mls).catch((cause: unknown) => ({
    reason: 'the self-check could not run',
    cause,
  }));
  if (failure) {
    throw new ProtocolError(
      'nonconforming-mls',
      `the MLS library does not follow RFC 9420 §12.4 (${failure.reason}): reinstall without --ignore-scripts so that patches/ is applied`,
      failure.cause === undefined ? {} : { cause: failure.cause },
    );
  }
}

let checked: Promise<void> | undefined;

/** checkMlsConformance on the library this package imports, once per process. */
export function requireConformingMls(): Promise<void> {
  checked ??= checkMlsConformance();
  return checked;
}

async function findConformanceFailure(
  mls: MlsLibrary,
): Promise<{ reason: string; cause?: unknown } | undefined> {
  const cipherSuite: CiphersuiteImpl = await mls.getCiphersuiteImpl(
    CHECK_SUITE,
    await createCryptoProvider(),
  );
  const defaults = mls.defaultCapabilities();
  const capabilities = { ...defaults, extensions: [...defaults.extensions, CHECK_EXTENSION] };
  const members = [];
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    members.push(
      await mls.generateKeyPackage({
        credential: {
          credentialType: mls.defaultCredentialTypes.basic,
          identity: new TextEncoder().encode(`ghostproof-self-check-${name}`),
        },
        capabilities,
        cipherSuite,
      }),
    );
  }
  const [alice, bob, carol, dave] = members as [
    (typeof members)[0],
    (typeof members)[0],
    (typeof members)[0],
    (typeof members)[0],
  ];
  // Only the keys made just now are valid credentials: never an accept-all service.
  const keys = members.map((m) => m.publicPackage.leafNode.signaturePublicKey);
  const authService: AuthenticationService = {
    async validateCredential(_credential, signaturePublicKey) {
      return keys.some(
        (k) => k.length === signaturePublicKey.length && constantTimeEqual(k, signaturePublicKey),
      );
    },
  };
  const context: MlsContext = {
    cipherSuite,
    authService,
    clientConfig: {
      keyRetentionConfig: {
        retainKeysForGenerations: 1,
        retainKeysForEpochs: 1,
        maximumForwardRatchetSteps: 1,
      },
      lifetimeConfig: mls.defaultLifetimeConfig,
      keyPackageEqualityConfig: mls.defaultKeyPackageEqualityConfig,
      paddingConfig: { kind: 'padUntilLength', padUntilLength: 0 },
    },
  };
  const created = await mls.createGroup({
    context,
    groupId: crypto.getRandomValues(new Uint8Array(16)),
    keyPackage: alice.publicPackage,
    privateKeyPackage: alice.privatePackage,
  });
  const add = await mls.createCommit({
    context,
    state: created,
    extraProposals: [bob, carol].map((m) => ({
      proposalType: mls.defaultProposalTypes.add,
      add: { keyPackage: m.publicPackage },
    })),
    ratchetTreeExtension: true,
  });
  if (!add.welcome) return { reason: 'no Welcome for an add' };
  const join = (member: typeof bob): Promise<ClientState> =>
    mls.joinGroup({
      context,
      welcome: add.welcome!.welcome,
      keyPackage: member.publicPackage,
      privateKeys: member.privatePackage,
    });
  const bobState = await join(bob);
  const carolState = await join(carol);

  // Carol is removed and dave added in one commit; dave takes carol's leaf.
  const carolLeaf = carolState.privatePath.leafIndex;
  const remove = await mls.createCommit({
    context,
    state: add.newState,
    extraProposals: [
      { proposalType: mls.defaultProposalTypes.remove, remove: { removed: carolLeaf } },
      { proposalType: mls.defaultProposalTypes.add, add: { keyPackage: dave.publicPackage } },
    ],
    // In the clear, so that the check can read the commit it made.
    wireAsPublicMessage: true,
  });
  const wire = mls.decode(mls.mlsMessageDecoder, mls.encode(mls.mlsMessageEncoder, remove.commit));
  if (!wire || wire.wireformat !== mls.wireformats.mls_public_message) return { reason: 'unreadable commit' };
  const framed = wire.publicMessage.content;
  if (!('commit' in framed)) return { reason: 'not a commit' };
  if (framed.commit.path === undefined) return { reason: 'a one-member remove carries no update path' };

  const bobResult = await mls.processMessage({ context, state: bobState, message: remove.commit });
  if (bobResult.kind !== 'newState' || bobResult.newState.groupActiveState.kind !== 'active')
    return { reason: 'the remaining member could not process the remove' };
  const theirs = bobResult.newState.keySchedule.epochAuthenticator;
  const ours = remove.newState.keySchedule.epochAuthenticator;
  if (!constantTimeEqual(theirs, ours)) return { reason: 'the remaining member reached another epoch' };

  let carolResult;
  try {
    carolResult = await mls.processMessage({ context, state: carolState, message: remove.commit });
  } catch (cause) {
    return { reason: 'the removed member cannot process its own removal', cause };
  }
  if (carolResult.kind !== 'newState' || carolResult.newState.groupActiveState.kind !== 'removedFromGroup')
    return { reason: 'the removed member is not marked removed' };
  if (carolResult.newState.groupContext.epoch !== carolState.groupContext.epoch)
    return { reason: 'the removed member moved to the next epoch' };

  // A GroupContextExtensions commit needs a path too, encrypted under the provisional group
  // context (with the new extensions, RFC 9420 §12.4.2), which the other member decrypts.
  const data = new TextEncoder().encode('ghostproof-self-check');
  const settings = await mls.createCommit({
    context,
    state: remove.newState,
    extraProposals: [
      {
        proposalType: mls.defaultProposalTypes.group_context_extensions,
        groupContextExtensions: {
          extensions: [mls.makeCustomExtension({ extensionType: CHECK_EXTENSION, extensionData: data })],
        },
      },
    ],
    wireAsPublicMessage: true,
  });
  const settingsWire = mls.decode(mls.mlsMessageDecoder, mls.encode(mls.mlsMessageEncoder, settings.commit));
  if (!settingsWire || settingsWire.wireformat !== mls.wireformats.mls_public_message)
    return { reason: 'unreadable commit' };
  const settingsFramed = settingsWire.publicMessage.content;
  if (!('commit' in settingsFramed)) return { reason: 'not a commit' };
  if (settingsFramed.commit.path === undefined)
    return { reason: 'a GroupContextExtensions commit carries no update path' };
  let settingsResult;
  try {
    settingsResult = await mls.processMessage({
      context,
      state: bobResult.newState,
      message: settings.commit,
    });
  } catch (cause) {
    return { reason: 'a GroupContextExtensions commit with a path cannot be processed', cause };
  }
  if (
    settingsResult.kind !== 'newState' ||
    !constantTimeEqual(
      settingsResult.newState.keySchedule.epochAuthenticator,
      settings.newState.keySchedule.epochAuthenticator,
    )
  ) {
    return { reason: 'a GroupContextExtensions commit leads the other member to another epoch' };
  }
  return undefined;
}
