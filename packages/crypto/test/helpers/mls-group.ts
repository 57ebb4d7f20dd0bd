// Drives real ts-mls groups for the crypto tests and the benchmark: members, each with its
// own CryptoProvider, a group made by one of them, messages and commits both ways.
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
  generateKeyPackage,
  getCiphersuiteImpl,
  joinGroup,
  processMessage,
  unsafeTestingAuthenticationService,
  type CiphersuiteName,
  type ClientConfig,
  type ClientState,
  type CryptoProvider,
  type KeyPackage,
  type MlsContext,
  type MlsFramedMessage,
  type PrivateKeyPackage,
} from 'ts-mls';

export const clientConfig: ClientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
};

export interface Member {
  readonly name: string;
  readonly context: MlsContext;
  readonly keyPackage: KeyPackage;
  readonly privatePackage: PrivateKeyPackage;
  state?: ClientState;
}

export async function makeMember(
  name: string,
  suite: CiphersuiteName,
  provider: CryptoProvider,
): Promise<Member> {
  const cipherSuite = await getCiphersuiteImpl(suite, provider);
  // These tests check the crypto back end, not authentication: the protocol package owns that.
  const context: MlsContext = { cipherSuite, authService: unsafeTestingAuthenticationService, clientConfig };
  const { publicPackage, privatePackage } = await generateKeyPackage({
    credential: { credentialType: defaultCredentialTypes.basic, identity: new TextEncoder().encode(name) },
    capabilities: defaultCapabilities(),
    lifetime: defaultLifetime(),
    cipherSuite,
  });
  return { name, context, keyPackage: publicPackage, privatePackage };
}

function stateOf(member: Member): ClientState {
  if (!member.state) throw new Error(`${member.name} is not in the group`);
  return member.state;
}

/** `creator` makes the group and adds every other member in one commit; all join by Welcome. */
export async function makeGroup(creator: Member, others: readonly Member[]): Promise<void> {
  creator.state = await createGroup({
    context: creator.context,
    groupId: crypto.getRandomValues(new Uint8Array(16)),
    keyPackage: creator.keyPackage,
    privateKeyPackage: creator.privatePackage,
  });
  if (others.length === 0) return;
  const { newState, welcome } = await createCommit({
    context: creator.context,
    state: creator.state,
    ratchetTreeExtension: true,
    extraProposals: others.map((m) => ({
      proposalType: defaultProposalTypes.add,
      add: { keyPackage: m.keyPackage },
    })),
  });
  creator.state = newState;
  if (!welcome) throw new Error('no welcome');
  for (const member of others) {
    member.state = await joinGroup({
      context: member.context,
      welcome: welcome.welcome,
      keyPackage: member.keyPackage,
      privateKeys: member.privatePackage,
    });
  }
}

export async function send(sender: Member, text: Uint8Array): Promise<MlsFramedMessage> {
  const { newState, message } = await createApplicationMessage({
    context: sender.context,
    state: stateOf(sender),
    message: text,
  });
  sender.state = newState;
  return message;
}

export async function receive(receiver: Member, message: MlsFramedMessage): Promise<Uint8Array> {
  const result = await processMessage({ context: receiver.context, state: stateOf(receiver), message });
  receiver.state = result.newState;
  if (result.kind !== 'applicationMessage') throw new Error('expected an application message');
  return result.message;
}

/** `committer` commits an empty update (a fresh path); every other member processes it. */
export async function commitUpdate(committer: Member, others: readonly Member[]): Promise<void> {
  const { newState, commit } = await createCommit({ context: committer.context, state: stateOf(committer) });
  committer.state = newState;
  for (const member of others) {
    const result = await processMessage({ context: member.context, state: stateOf(member), message: commit });
    if (result.kind !== 'newState') throw new Error('expected a new state');
    member.state = result.newState;
  }
}

export function epochOf(member: Member): bigint {
  return stateOf(member).groupContext.epoch;
}
