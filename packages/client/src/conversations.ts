// Making and changing conversations: 1:1s and groups, members added and removed, requests
// accepted or declined, leaving, and the settings every member holds in the MLS group context
// (admins, disappearing timer), each changed by a commit.
import { routes } from '@ghostproof/api';
import { defaultCiphersuite } from '@ghostproof/crypto';
import { body as contentBody, type Content } from '@ghostproof/protocol';
import { toHex } from './bytes.js';
import type { CommitRunner } from './commit-runner.js';
import type { Contacts } from './contacts.js';
import type { MessengerContext } from './context.js';
import type { ConversationRegistry } from './conversation-registry.js';
import { ClientError } from './errors.js';
import type { MessengerOptions } from './options.js';
import type { Outbox } from './outbox.js';
import type { ConversationInfo } from './store.js';

export interface ConversationsDeps {
  readonly registry: ConversationRegistry;
  readonly commits: CommitRunner;
  readonly contacts: Contacts;
  readonly outbox: Outbox;
  /** Sends content in a conversation (sending.ts). */
  readonly send: (id: string, body: Content['body']) => Promise<string>;
}

export class Conversations {
  constructor(
    private readonly context: MessengerContext,
    private readonly cipherSuite: MessengerOptions['cipherSuite'],
    private readonly deps: ConversationsDeps,
  ) {}

  /** See Messenger.direct. @throws as Messenger.direct. */
  async direct(username: string): Promise<string> {
    for (const info of await this.context.store.listConversationInfos()) {
      if (info.kind === 'direct' && info.peer === username && info.status === 'active') return info.id;
    }
    return this.create('direct', [username], '');
  }

  /** See Messenger.createGroup. @throws as Messenger.createGroup. */
  async createGroup(name: string, usernames: readonly string[]): Promise<string> {
    const id = await this.create('group', usernames, name);
    if (name) await this.deps.send(id, contentBody.groupName(name));
    // The admin list is in the group's creation (MLS group context); the old content message
    // only for the negative control of what that prevents.
    if (this.context.disabled.authenticatedAdmins)
      await this.deps.send(id, contentBody.groupAdmins([this.context.identity.username]));
    return id;
  }

  /**
   * A new conversation with these accounts (all their devices), or none at all.
   * @throws ClientError `unknown-user` (a 1:1 without exactly one other account, or an account
   *   that does not exist), `blocked`, `identity-changed`, `usage` before connect, `offline`;
   *   as `addMembers`.
   */
  async create(kind: 'direct' | 'group', usernames: readonly string[], name: string): Promise<string> {
    const { store, identity, clock, disabled } = this.context;
    const others = [...new Set(usernames.filter((u) => u !== identity.username))];
    if (kind === 'direct' && others.length !== 1)
      throw new ClientError('unknown-user', 'a 1:1 needs one other account');
    for (const username of others) {
      if ((await store.getContact(username))?.blocked) throw new ClientError('blocked', 'account is blocked');
    }
    // Every account is looked up before anything exists: a lookup that fails (no such
    // account, a key transparency proof refused) must not leave an empty conversation that
    // direct() would hand out again.
    for (const username of others) await this.deps.contacts.accept(username);
    const conversation = await this.context.protocol.createConversation({
      kind,
      cipherSuite: this.cipherSuite ?? defaultCiphersuite,
    });
    const id = toHex(conversation.groupId);
    await this.context
      .connection()
      .request({ case: 'createGroup', value: { groupId: conversation.groupId } });
    this.deps.registry.loaded.set(id, conversation);
    const info: ConversationInfo = {
      id,
      kind,
      status: 'active',
      name,
      admins: disabled.authenticatedAdmins ? [identity.username] : [...conversation.settings.admins],
      ...(kind === 'direct' ? { peer: others[0]! } : {}),
      unread: 0,
      lastActivity: clock.now(),
      sentSinceUpdate: 0,
      lastUpdateAt: clock.now(),
      disappearingSeconds: 0,
    };
    await store.putConversationInfo(info);
    if (others.length > 0) {
      try {
        await this.addMembersNow(id, others);
      } catch (error) {
        // Nobody could be added: the conversation would only be an empty shell.
        await this.deps.registry.forget(id);
        throw error;
      }
    }
    this.context.emit('conversation', { conversation: info });
    return id;
  }

  /** See Messenger.addMembers. @throws as Messenger.addMembers. */
  async addMembers(id: string, usernames: readonly string[]): Promise<void> {
    await this.addMembersNow(id, usernames);
    // The group's name is a message, which those just added never received: say it again.
    const info = await this.deps.registry.info(id);
    if (
      info.kind === 'group' &&
      info.name &&
      (info.admins.length === 0 || info.admins.includes(this.context.identity.username))
    ) {
      await this.deps.send(id, contentBody.groupName(info.name));
    }
  }

  private async addMembersNow(id: string, usernames: readonly string[]): Promise<void> {
    await this.deps.commits.commitWithRetry(id, async (conversation) => {
      const additions = [];
      for (const username of usernames) {
        const claimed = await this.context.http.call(routes.claimKeyPackages, {
          token: await this.context.sessionToken(false),
          body: { username, deviceIds: [] },
        });
        additions.push({
          username,
          keyPackages: new Map(claimed.keyPackages.map((k) => [k.deviceId, k.keyPackage])),
        });
      }
      const { pending, missing } = await conversation.prepareAddMembers(additions);
      if (missing.length > 0 || !pending) {
        throw new ClientError(
          'missing-key-packages',
          `no key package for ${missing.map((m) => `${m.username}/${m.deviceId}`).join(', ')}`,
        );
      }
      return pending;
    });
  }

  /** See Messenger.removeMember. @throws as Messenger.removeMember. */
  async removeMember(id: string, username: string): Promise<void> {
    await this.deps.commits.commitWithRetry(id, (conversation) =>
      conversation.prepareRemoveMembers([username]),
    );
  }

  /** See Messenger.leave. @throws as Messenger.leave. */
  async leave(id: string): Promise<void> {
    const conversation = await this.deps.registry.mls(id);
    const message = await conversation.proposeLeave();
    await this.deps.outbox.enqueue(id, message);
    const info = await this.deps.registry.info(id);
    await this.context.store.putConversationInfo({ ...info, status: 'left' });
  }

  /** See Messenger.accept. @throws as Messenger.accept. */
  async accept(id: string): Promise<void> {
    const info = await this.deps.registry.info(id);
    await this.context.store.putConversationInfo({ ...info, status: 'active' });
    for (const member of (await this.deps.registry.mls(id)).members) {
      if (member.username !== this.context.identity.username)
        await this.deps.contacts.accept(member.username);
    }
  }

  /** See Messenger.decline. @throws as Messenger.decline. */
  async decline(id: string): Promise<void> {
    const info = await this.deps.registry.info(id);
    const conversation = await this.deps.registry.mls(id);
    if (conversation.active) await this.deps.outbox.enqueue(id, await conversation.proposeLeave());
    await this.context.store.putConversationInfo({ ...info, status: 'declined' });
  }

  /** See Messenger.setDisappearing. @throws as Messenger.setDisappearing. */
  async setDisappearing(id: string, seconds: number): Promise<void> {
    if (this.context.disabled.sharedDisappearingTimer) {
      await this.deps.send(id, contentBody.disappearingTimer(seconds));
      const info = await this.deps.registry.info(id);
      await this.context.store.putConversationInfo({ ...info, disappearingSeconds: seconds });
      return;
    }
    await this.updateSettings(id, { disappearingSeconds: seconds });
  }

  /** See Messenger.setAdmins. @throws as Messenger.setAdmins. */
  async setAdmins(id: string, usernames: readonly string[]): Promise<void> {
    if (this.context.disabled.authenticatedAdmins) {
      await this.deps.send(id, contentBody.groupAdmins([...usernames]));
      const info = await this.deps.registry.info(id);
      await this.context.store.putConversationInfo({ ...info, admins: [...usernames] });
      return;
    }
    await this.updateSettings(id, { admins: usernames });
  }

  /** See Messenger.setGroupName. @throws as Messenger.setGroupName. */
  async setGroupName(id: string, name: string): Promise<void> {
    await this.deps.send(id, contentBody.groupName(name));
    const info = await this.deps.registry.info(id);
    await this.context.store.putConversationInfo({ ...info, name });
  }

  /** See Messenger.setProfileName. @throws as Messenger.setProfileName. */
  async setProfileName(displayName: string): Promise<void> {
    for (const info of await this.context.store.listConversationInfos()) {
      if (info.status === 'active') await this.deps.send(info.id, contentBody.profile(displayName));
    }
  }

  /** A settings commit through the commit lifecycle; the stored info follows the new settings. */
  private async updateSettings(
    id: string,
    change: { admins?: readonly string[]; disappearingSeconds?: number },
  ): Promise<void> {
    const info = await this.deps.registry.info(id);
    if (info.status !== 'active') throw new ClientError('unknown-conversation', 'conversation is not active');
    await this.deps.commits.commitWithRetry(id, (conversation) => {
      const members = new Set(conversation.members.map((m) => m.username));
      // A group made before settings were in the group context has no admin list there: its
      // first settings commit sets one, from this device's earlier view if it named us.
      const seed =
        change.admins === undefined &&
        conversation.settings.kind === 'group' &&
        conversation.settings.admins.length === 0 &&
        info.admins.includes(this.context.identity.username)
          ? { admins: info.admins.filter((a) => members.has(a)) }
          : {};
      return conversation.prepareUpdateSettings({ ...change, ...seed });
    });
  }
}
