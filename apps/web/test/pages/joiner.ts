// A member in the browser, with the web client's IndexedDB store and the SDK as Vite bundles
// them, against a real server on the page's origin: the test adds this member to a group
// whose disappearing timer was set before, moves the member's clock on, and reads the raw
// IndexedDB records to see whether the message is still there. `window.joiner` is driven
// from the test with page.evaluate.
import {
  browserMessengerOptions,
  IndexedDbClientStore,
  Messenger,
  type UnsafeTestingDisabledDefences,
} from '@ghostproof/client/browser';

export interface StoredView {
  readonly id: string;
  readonly text: string;
  readonly expiresAt: number;
}

export interface JoinerApi {
  register(username: string, defencesOff: UnsafeTestingDisabledDefences): Promise<void>;
  /** The conversation's timer as this member holds it, once it has joined; undefined before. */
  joined(id: string): Promise<number | undefined>;
  accept(id: string): Promise<void>;
  /** Messages in the store, read through the store's API (not through the SDK's listing). */
  stored(id: string): Promise<StoredView[]>;
  /** Whether the raw IndexedDB database holds this message's record. */
  recordPresent(id: string, messageId: string): Promise<boolean>;
  advanceClock(ms: number): void;
  /** Resolves when the Messenger's own sweep deletes something; rejects after `ms`. */
  nextExpiry(ms: number): Promise<number>;
  sweep(): Promise<number>;
  texts(id: string): Promise<string[]>;
}

declare global {
  interface Window {
    joiner: JoinerApi;
  }
}

let offset = 0;
let messenger: Messenger | undefined;
let store: IndexedDbClientStore | undefined;
let dbName = '';

const need = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('register first');
  return value;
};

window.joiner = {
  async register(username, defencesOff) {
    dbName = `joiner-${username}`;
    store = await IndexedDbClientStore.open({ name: dbName });
    messenger = await Messenger.register(
      browserMessengerOptions(location.origin, store, {
        clock: () => Date.now() + offset,
        expirySweepMs: 100,
        ...(Object.keys(defencesOff).length > 0 ? { unsafeTestingDisableDefences: defencesOff } : {}),
      }),
      username,
    );
    await messenger.connect();
  },
  async joined(id) {
    const info = await need(messenger)
      .conversationInfo(id)
      .catch(() => undefined);
    return info?.disappearingSeconds;
  },
  async accept(id) {
    await need(messenger).accept(id);
  },
  async stored(id) {
    return (await need(store).listMessages(id)).map((m) => ({
      id: m.id,
      text: m.text,
      expiresAt: m.expiresAt,
    }));
  },
  async recordPresent(id, messageId) {
    const hashed = await (need(store) as unknown as { hashed(k: string, n: string): Promise<string> }).hashed(
      'message',
      `${id}/${messageId}`,
    );
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(dbName);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error('open failed'));
    });
    try {
      const row = await new Promise<unknown>((resolve, reject) => {
        const req = db.transaction('records').objectStore('records').get(`message:${hashed}`);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(new Error('read failed'));
      });
      return row !== undefined;
    } finally {
      db.close();
    }
  },
  advanceClock(ms) {
    offset += ms;
  },
  nextExpiry(ms) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error('no expired messages were swept in time'));
      }, ms);
      const off = need(messenger).on('expired', ({ count }) => {
        clearTimeout(timer);
        off();
        resolve(count);
      });
    });
  },
  sweep() {
    return need(messenger).sweepExpired();
  },
  async texts(id) {
    return (await need(messenger).messages(id)).map((m) => m.text);
  },
};
