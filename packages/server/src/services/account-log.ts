// The one place every accepted account update goes: registration (version 1), each new
// device list (version + 1) and deletion. Key transparency hooks in here: its operator
// implements AccountLog and appends each update to the log tree. The server calls append
// after the store accepted the update and marks the version logged once append resolved;
// versions not yet confirmed (a crash in between) are appended again at startup, so append
// must be idempotent for a (username, version) it already holds.
import type { AccountUpdate, Store } from '../storage/store.js';

export type { AccountUpdate } from '../storage/store.js';

export interface AccountLog {
  append(update: AccountUpdate): Promise<void>;
}

/** The interim log: records every update in the store, in order, until KT backs it. */
export class StoreAccountLog implements AccountLog {
  constructor(private readonly store: Store) {}

  async append(update: AccountUpdate): Promise<void> {
    await this.store.appendAccountUpdate(update);
  }
}
