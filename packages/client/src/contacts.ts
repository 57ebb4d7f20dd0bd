// Accounts this device knows: verified lookups through key transparency, safety numbers,
// verification, acknowledged identity changes, blocking.
import type { DeviceList } from '@ghostproof/api';
import { safetyNumber, type SafetyNumber } from '@ghostproof/protocol';
import type { MessengerContext } from './context.js';
import { ClientError } from './errors.js';
import { errorFields, type Logger } from './logger.js';
import type { Contact } from './store.js';

export class Contacts {
  private readonly log: Logger;

  constructor(
    private readonly context: MessengerContext,
    /** Declines a conversation request (conversations.ts), for blocking its sender. */
    private readonly decline: (id: string) => Promise<void>,
  ) {
    this.log = context.logger('client:contacts');
  }

  /**
   * The verified device list of an account (signature checked, identity key pinned).
   * @throws ClientError `unknown-user` (no such account), `identity-changed` (key
   *   transparency refused the server's answer), `offline`; ApiError from the lookup.
   */
  async lookup(username: string): Promise<DeviceList> {
    const list = await this.context.directory.lookup(username);
    if (!list) throw new ClientError('unknown-user', 'no such account');
    return list;
  }

  /**
   * The safety number of this account and `username`, to compare out of band.
   * @throws as `lookup`.
   */
  async safetyNumber(username: string): Promise<SafetyNumber> {
    const list = await this.lookup(username);
    const { identity } = this.context;
    return safetyNumber(
      { username: identity.username, identityKey: identity.identityPublicKey },
      { username: list.username, identityKey: list.identityKey },
    );
  }

  /**
   * Marks a contact verified (the person compared safety numbers).
   * @throws as `lookup`; ClientError `unknown-user` (no contact record).
   */
  async markVerified(username: string): Promise<void> {
    await this.lookup(username);
    const contact = await this.contact(username);
    await this.context.store.putContact({ ...contact, verified: true, identityChangedAt: 0 });
  }

  /**
   * Acknowledges a contact's new identity key; a verified contact becomes unverified.
   * @throws ClientError `unknown-user` (no contact record).
   */
  async acknowledgeIdentityChange(username: string): Promise<void> {
    const contact = await this.contact(username);
    await this.context.store.putContact({ ...contact, verified: false, identityChangedAt: 0 });
  }

  /**
   * Blocks an account (known or not) and declines its pending requests.
   * @throws a store failure; as Messenger.decline for its requests.
   */
  async block(username: string): Promise<void> {
    const { store } = this.context;
    try {
      await this.lookup(username);
    } catch (error) {
      // The lookup only pins the key of an account that exists; blocking does not depend on
      // it (an unknown or unreachable account is blocked all the same).
      this.log.debug('block-lookup-failed', errorFields(error));
    }
    const contact = (await store.getContact(username)) ?? {
      username,
      identityKey: new Uint8Array(0),
      verified: false,
      blocked: false,
      accepted: false,
      identityChangedAt: 0,
      displayName: '',
    };
    await store.putContact({ ...contact, blocked: true });
    for (const info of await store.listConversationInfos()) {
      if (info.status === 'request' && info.peer === username) await this.decline(info.id);
    }
  }

  /**
   * Unblocks a contact.
   * @throws ClientError `unknown-user` (no contact record).
   */
  async unblock(username: string): Promise<void> {
    const contact = await this.contact(username);
    await this.context.store.putContact({ ...contact, blocked: false });
  }

  /**
   * Looks an account up and marks it accepted (this account started or accepted a
   * conversation with it).
   * @throws as `lookup`.
   */
  async accept(username: string): Promise<void> {
    await this.lookup(username);
    const contact = await this.contact(username);
    if (!contact.accepted) await this.context.store.putContact({ ...contact, accepted: true });
  }

  private async contact(username: string): Promise<Contact> {
    const contact = await this.context.store.getContact(username);
    if (!contact) throw new ClientError('unknown-user', 'no such contact');
    return contact;
  }
}
