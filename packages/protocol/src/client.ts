// One device's view of the protocol: its key packages and its conversations, over a store
// the caller provides. Transport, servers and user interfaces live in the client SDK.
import {
  ciphersuiteParams,
  createCryptoProvider,
  defaultCiphersuite,
  forgetSecretKeys,
  type CiphersuiteId,
} from '@ghostproof/crypto';
import {
  createGroup,
  decode,
  getCiphersuiteImpl,
  joinGroup,
  makeCustomExtension,
  mlsMessageDecoder,
  wireformats,
  type CiphersuiteImpl,
  type CryptoProvider,
} from 'ts-mls';
import { Conversation, type ConversationKind } from './conversation.js';
import { mlsContextFor, type ConversationEnv } from './conversation-env.js';
import { decodeSettings, encodeSettings } from './conversation-settings.js';
import type { DeviceDirectory } from './directory.js';
import { ProtocolError } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import {
  CONVERSATION_EXTENSION,
  decodeKeyPackageMessage,
  decodePrivateKeyPackage,
  generateKeyPackage,
} from './key-packages.js';
import { defaultLimits, type ProtocolLimits } from './limits.js';
import { requireConformingMls } from './mls-conformance.js';
import type { ProtocolStore } from './store.js';

export interface ProtocolClientOptions {
  readonly device: DeviceIdentity;
  readonly directory: DeviceDirectory;
  readonly store: ProtocolStore;
  readonly limits?: Partial<ProtocolLimits>;
  /** Milliseconds since 1970; injectable for tests. */
  readonly clock?: () => number;
  /** Defaults to @ghostproof/crypto's provider for this platform. */
  readonly provider?: CryptoProvider;
  /** Test-only: accept every credential, to show what the checks prevent. Never set in products. */
  readonly unsafeTestingAcceptAllCredentials?: boolean;
  /**
   * Test-only: no fork or gap alarm. A second commit for an epoch passes as a redelivery and a
   * message from an epoch not reached is dropped, silently, as by a client without these
   * checks: the negative control of the fork and gap tests. Never set in products.
   */
  readonly unsafeTestingIgnoreForksAndGaps?: boolean;
  /**
   * Test-only: a Welcome for a group id this device already holds replaces that
   * conversation, as before the check: the negative control of the Welcome-overwrite and
   * Welcome-replay tests. Never set in products.
   */
  readonly unsafeTestingAcceptConflictingWelcomes?: boolean;
}

/**
 * The protocol for one device. Its methods pass through whatever the caller's store and
 * directory throw; the ProtocolError codes each lists are the protocol's own.
 */
export class ProtocolClient {
  private readonly suites = new Map<number, Promise<CiphersuiteImpl>>();

  private constructor(
    readonly device: DeviceIdentity,
    private readonly directory: DeviceDirectory,
    private readonly store: ProtocolStore,
    private readonly limits: ProtocolLimits,
    private readonly clock: () => number,
    private readonly provider: CryptoProvider,
    private readonly unsafeTestingAcceptAllCredentials: boolean,
    private readonly unsafeTestingIgnoreForksAndGaps: boolean,
    private readonly unsafeTestingAcceptConflictingWelcomes: boolean,
  ) {}

  /**
   * The MLS library self-check (once per process). `create` runs it; callers run it before
   * anything they would not want to undo (registering an account).
   * @throws {@link ProtocolError} `nonconforming-mls`: a library without the update path fix.
   */
  static requireConformingLibrary(): Promise<void> {
    return requireConformingMls();
  }

  /**
   * A client for `options.device` over the caller's store and directory; unset options take
   * their defaults (limits, the clock, the platform's crypto provider).
   * @throws {@link ProtocolError} `nonconforming-mls`: the MLS library fails the self-check.
   */
  static async create(options: ProtocolClientOptions): Promise<ProtocolClient> {
    await requireConformingMls();
    return new ProtocolClient(
      options.device,
      options.directory,
      options.store,
      { ...defaultLimits, ...options.limits },
      options.clock ?? Date.now,
      options.provider ?? (await createCryptoProvider()),
      options.unsafeTestingAcceptAllCredentials ?? false,
      options.unsafeTestingIgnoreForksAndGaps ?? false,
      options.unsafeTestingAcceptConflictingWelcomes ?? false,
    );
  }

  private suite(id: number): Promise<CiphersuiteImpl> {
    const params = ciphersuiteParams(id);
    if (!params) return Promise.reject(new ProtocolError('malformed', 'unsupported ciphersuite'));
    let impl = this.suites.get(id);
    if (!impl) {
      impl = getCiphersuiteImpl(params.mlsName, this.provider);
      this.suites.set(id, impl);
    }
    return impl;
  }

  private async env(cipherSuite: number): Promise<ConversationEnv> {
    return {
      self: this.device,
      directory: this.directory,
      cipherSuite: await this.suite(cipherSuite),
      limits: this.limits,
      clock: this.clock,
      persist: (groupId, record) => this.store.putConversation(groupId, record),
      unsafeTestingAcceptAllCredentials: this.unsafeTestingAcceptAllCredentials,
      unsafeTestingIgnoreForksAndGaps: this.unsafeTestingIgnoreForksAndGaps,
    };
  }

  /**
   * Makes `count` one-time key packages and one last-resort package, keeps their private
   * parts in the store, and returns the public MLSMessage bytes to upload.
   * @throws {@link ProtocolError} `malformed`: an unsupported ciphersuite.
   */
  async generateKeyPackages(
    count: number,
    cipherSuite: CiphersuiteId = defaultCiphersuite,
  ): Promise<{ oneTime: Uint8Array[]; lastResort: Uint8Array }> {
    const cs = await this.suite(cipherSuite);
    const oneTime: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const kp = await generateKeyPackage(this.device, cs, { lastResort: false, now: this.clock() });
      await this.store.putKeyPackage(kp.ref, kp);
      oneTime.push(kp.publicBytes);
    }
    const last = await generateKeyPackage(this.device, cs, { lastResort: true, now: this.clock() });
    await this.store.putKeyPackage(last.ref, last);
    return { oneTime, lastResort: last.publicBytes };
  }

  /**
   * A new conversation with this device alone. Its settings are in the group context from the
   * start: a group's admin list names this account, a 1:1 has none, and no timer is set.
   * @throws {@link ProtocolError} `malformed`: an unsupported ciphersuite.
   */
  async createConversation(
    options: { kind?: ConversationKind; cipherSuite?: CiphersuiteId } = {},
  ): Promise<Conversation> {
    const kind = options.kind ?? 'group';
    const cipherSuite = options.cipherSuite ?? defaultCiphersuite;
    const env = await this.env(cipherSuite);
    const own = await generateKeyPackage(this.device, env.cipherSuite, {
      lastResort: false,
      now: this.clock(),
    });
    const state = await createGroup({
      context: mlsContextFor(env),
      groupId: crypto.getRandomValues(new Uint8Array(32)),
      keyPackage: decodeKeyPackageMessage(own.publicBytes),
      privateKeyPackage: decodePrivateKeyPackage(own.privateBytes),
      extensions: [
        makeCustomExtension({
          extensionType: CONVERSATION_EXTENSION,
          extensionData: encodeSettings({
            kind,
            admins: kind === 'group' ? [this.device.username] : [],
            disappearingSeconds: 0,
          }),
        }),
      ],
    });
    return Conversation.fromNewState(env, state, kind);
  }

  /**
   * Joins the conversation a Welcome invites this device to, with the key package it names
   * (a one-time package is deleted once used).
   * @returns The conversation, saved.
   * @throws {@link ProtocolError} `too-large`: beyond the handshake size limit.
   * @throws {@link ProtocolError} `malformed`: not an MLS Welcome, or an unsupported ciphersuite.
   * @throws {@link ProtocolError} `not-a-member`: the Welcome names none of this device's key packages.
   * @throws {@link ProtocolError} `invalid-commit`: the Welcome cannot be processed (a credential
   *   refused, a bad signature, malformed conversation settings).
   * @throws {@link ProtocolError} `directory-unavailable`: the directory cannot answer now; retry
   *   the Welcome later.
   * @throws {@link ProtocolError} `conflicting-welcome`: for a conversation this device holds, or
   *   no newer than the one it left (`groupId` names it).
   */
  async joinFromWelcome(welcomeBytes: Uint8Array): Promise<Conversation> {
    if (welcomeBytes.length > this.limits.maxHandshakeBytes)
      throw new ProtocolError('too-large', 'welcome too large');
    const message = decode(mlsMessageDecoder, welcomeBytes);
    if (!message || message.wireformat !== wireformats.mls_welcome) {
      throw new ProtocolError('malformed', 'not an MLS Welcome');
    }
    const welcome = message.welcome;
    for (const secret of welcome.secrets) {
      const stored = await this.store.getKeyPackage(secret.newMember);
      if (!stored) continue;
      const env = await this.env(welcome.cipherSuite);
      // Decoded from a copy: the new state's leaf key is a view into these bytes, and the
      // conversation zeroes its retired keys (a store may hand out the bytes it keeps).
      const privateKeys = decodePrivateKeyPackage(stored.privateBytes.slice());
      let state;
      try {
        state = await joinGroup({
          context: mlsContextFor(env),
          welcome,
          keyPackage: decodeKeyPackageMessage(stored.publicBytes),
          privateKeys,
        });
      } catch (cause) {
        // A directory that cannot answer now decided nothing: the caller retries the Welcome.
        if (ProtocolError.is(cause, 'directory-unavailable')) throw cause;
        throw new ProtocolError('invalid-commit', 'welcome cannot be processed', { cause });
      } finally {
        // The init key decrypted this Welcome and has no other use in this copy.
        forgetSecretKeys([privateKeys.initPrivateKey]);
        privateKeys.initPrivateKey.fill(0);
      }
      await this.refuseConflictingWelcome(state.groupContext.groupId, state.groupContext.epoch);
      const extension = state.groupContext.extensions.find((e) => e.extensionType === CONVERSATION_EXTENSION);
      const data = extension && 'extensionData' in extension ? extension.extensionData : undefined;
      // The settings (kind, admins, timer) come with the Welcome, authenticated by the group's
      // secrets; settings this code could not have written are refused, not guessed at.
      let kind: ConversationKind = 'group';
      if (data instanceof Uint8Array) {
        try {
          kind = decodeSettings(data).kind;
        } catch (cause) {
          throw new ProtocolError('invalid-commit', 'welcome: malformed conversation settings', { cause });
        }
      }
      if (!stored.lastResort) await this.store.deleteKeyPackage(secret.newMember);
      return Conversation.fromNewState(env, state, kind);
    }
    throw new ProtocolError('not-a-member', 'the welcome names none of this device’s key packages');
  }

  /**
   * A Welcome names its group id itself. One for a conversation this device is in would
   * replace it (a removed member, or anyone, slipping back in with a group of its own under
   * that id), and one no newer than the conversation this device left would roll it back (an
   * old Welcome replayed): both are refused. A newer one for a conversation this device was
   * removed from, left, or could not continue is being added again, and replaces the old
   * record (the client shows it as a request: nothing proves it is the same group).
   */
  private async refuseConflictingWelcome(groupId: Uint8Array, epoch: bigint): Promise<void> {
    if (this.unsafeTestingAcceptConflictingWelcomes) return;
    const existing = await this.conversation(groupId).catch((cause: unknown) => {
      throw new ProtocolError('conflicting-welcome', 'a Welcome for a conversation this device holds', {
        cause,
        groupId,
      });
    });
    if (!existing) return;
    if (existing.active || epoch <= existing.epoch) {
      throw new ProtocolError('conflicting-welcome', 'a Welcome for a conversation this device holds', {
        groupId,
      });
    }
  }

  /**
   * The saved conversation `groupId`, or undefined if the store holds none.
   * @throws {@link ProtocolError} `malformed`: a record that cannot be read (another ts-mls
   *   release, or an unsupported ciphersuite).
   */
  async conversation(groupId: Uint8Array): Promise<Conversation | undefined> {
    const record = await this.store.getConversation(groupId);
    if (!record) return undefined;
    // The record names its suite inside the MLS state; load with the default first to read it.
    const probe = await Conversation.load(await this.env(defaultCiphersuite), record);
    if (probe.cipherSuite === defaultCiphersuite) return probe;
    return Conversation.load(await this.env(probe.cipherSuite), record);
  }
}
