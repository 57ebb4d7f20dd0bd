// Real MLS messages from ts-mls (with the project's CryptoProvider) for the parser tests:
// key packages, a group whose creator adds two members by commit and Welcome, an
// application message, and the same commit as a PublicMessage.
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  defaultCapabilities,
  defaultCredentialTypes,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  defaultProposalTypes,
  encode,
  generateKeyPackage,
  getCiphersuiteImpl,
  makeKeyPackageRef,
  mlsMessageEncoder,
  protocolVersions,
  unsafeTestingAuthenticationService,
  wireformats,
  type CiphersuiteName,
  type ClientConfig,
  type KeyPackage,
  type MlsContext,
  type PrivateKeyPackage,
} from 'ts-mls';
import { cryptoProvider } from '@ghostproof/crypto';
import { ciphersuites } from '@ghostproof/testkit/ciphersuites';

const clientConfig: ClientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
};

export const suites = ciphersuites satisfies readonly { name: CiphersuiteName }[];

export interface MlsSamples {
  readonly context: MlsContext;
  readonly keyPackages: readonly KeyPackage[];
  readonly privatePackages: readonly PrivateKeyPackage[];
  /** MLSMessage (mls_key_package) encodings of keyPackages. */
  readonly keyPackageMessages: readonly Uint8Array[];
  /** makeKeyPackageRef of keyPackages[1..]: the members the Welcome adds. */
  readonly addedRefs: readonly Uint8Array[];
  readonly groupId: Uint8Array;
  readonly commit: Uint8Array;
  readonly publicCommit: Uint8Array;
  readonly welcome: Uint8Array;
  readonly application: Uint8Array;
  /** Epoch of the commit (0) and of the application message (1). */
  readonly commitEpoch: bigint;
  readonly applicationEpoch: bigint;
}

export async function mlsSamples(suite: CiphersuiteName): Promise<MlsSamples> {
  const cipherSuite = await getCiphersuiteImpl(suite, cryptoProvider);
  const context: MlsContext = { cipherSuite, authService: unsafeTestingAuthenticationService, clientConfig };
  const generated = await Promise.all(
    ['alice', 'bob', 'carol'].map((name) =>
      generateKeyPackage({
        credential: {
          credentialType: defaultCredentialTypes.basic,
          identity: new TextEncoder().encode(name),
        },
        capabilities: defaultCapabilities(),
        lifetime: defaultLifetime(),
        cipherSuite,
      }),
    ),
  );
  const keyPackages = generated.map((g) => g.publicPackage);
  const privatePackages = generated.map((g) => g.privatePackage);
  const keyPackageMessages = keyPackages.map((keyPackage) =>
    encode(mlsMessageEncoder, {
      version: protocolVersions.mls10,
      wireformat: wireformats.mls_key_package,
      keyPackage,
    }),
  );
  const groupId = crypto.getRandomValues(new Uint8Array(32));
  const state = await createGroup({
    context,
    groupId,
    keyPackage: keyPackages[0]!,
    privateKeyPackage: privatePackages[0]!,
  });
  const extraProposals = keyPackages.slice(1).map((keyPackage) => ({
    proposalType: defaultProposalTypes.add,
    add: { keyPackage },
  }));
  const { newState, commit, welcome } = await createCommit({
    context,
    state,
    extraProposals,
    ratchetTreeExtension: true,
  });
  const { commit: publicCommit } = await createCommit({
    context,
    state,
    extraProposals,
    wireAsPublicMessage: true,
  });
  if (!welcome) throw new Error('no Welcome');
  const { message } = await createApplicationMessage({
    context,
    state: newState,
    message: new Uint8Array(100),
  });
  return {
    context,
    keyPackages,
    privatePackages,
    keyPackageMessages,
    addedRefs: await Promise.all(keyPackages.slice(1).map((kp) => makeKeyPackageRef(kp, cipherSuite.hash))),
    groupId,
    commit: encode(mlsMessageEncoder, commit),
    publicCommit: encode(mlsMessageEncoder, publicCommit),
    welcome: encode(mlsMessageEncoder, welcome),
    application: encode(mlsMessageEncoder, message),
    commitEpoch: 0n,
    applicationEpoch: 1n,
  };
}
