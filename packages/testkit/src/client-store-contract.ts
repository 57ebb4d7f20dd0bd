// What every ClientStore must do, whatever keeps the records (memory, SQLite in Node,
// IndexedDB in a browser): the checks of the contract, each against a fresh empty store. They
// use only ok/equal/deepEqual/fail of node:assert/strict, so that the web test pages run the
// very same checks in chromium (with their small assert shim); `describeClientStoreContract`
// runs them under node:test.
import assert from 'node:assert/strict';
import type {
  ClientStore,
  Contact,
  ConversationInfo,
  OutboxEntry,
  StoredIdentity,
  StoredMessage,
} from '@ghostproof/client';

/** Opens a new, empty store; the check closes it. */
export type OpenClientStore = () => Promise<ClientStore>;

export interface ClientStoreCheck {
  readonly name: string;
  run(store: ClientStore): Promise<void>;
}

const bytes = (...values: number[]) => Uint8Array.from(values);

function identity(): StoredIdentity {
  return {
    serverUrl: 'https://example.test',
    username: 'alice',
    identityPublicKey: bytes(1, 2, 3),
    identitySecretKey: bytes(4, 5, 6),
    deviceId: 2,
    devicePublicKey: bytes(7, 8),
    deviceSecretKey: bytes(9, 10),
    signedDeviceList: bytes(11, 12, 13),
  };
}

function info(id: string, extra: Partial<ConversationInfo> = {}): ConversationInfo {
  return {
    id,
    kind: 'group',
    status: 'active',
    name: `team ${id}`,
    admins: ['alice'],
    unread: 0,
    lastActivity: 1000,
    sentSinceUpdate: 0,
    lastUpdateAt: 0,
    disappearingSeconds: 0,
    ...extra,
  };
}

function message(conversationId: string, id: string, receivedAt: number, expiresAt = 0): StoredMessage {
  return {
    conversationId,
    id,
    sender: { username: 'bob', deviceId: 1 },
    sentAt: receivedAt - 1,
    receivedAt,
    text: `text ${id}`,
    state: 'received',
    reactions: {},
    deliveredTo: [],
    readTo: [],
    edited: false,
    deleted: false,
    expiresAt,
  };
}

function outbox(clientId: string, createdAt: number, messageId?: string): OutboxEntry {
  return {
    clientId,
    groupId: 'aa',
    message: bytes(createdAt % 256, 1),
    createdAt,
    ...(messageId === undefined ? {} : { messageId }),
  };
}

function contact(username: string, extra: Partial<Contact> = {}): Contact {
  return {
    username,
    identityKey: bytes(username.length, 1),
    verified: false,
    blocked: false,
    accepted: true,
    identityChangedAt: 0,
    displayName: username.toUpperCase(),
    ...extra,
  };
}

const byKey =
  <T>(key: (value: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

export const clientStoreContract: readonly ClientStoreCheck[] = [
  {
    name: 'an identity is absent, then round-trips with every byte',
    async run(store) {
      assert.equal(await store.getIdentity(), undefined);
      await store.putIdentity(identity());
      assert.deepEqual(await store.getIdentity(), identity());
      const replaced = { ...identity(), signedDeviceList: bytes(99) };
      await store.putIdentity(replaced);
      assert.deepEqual(await store.getIdentity(), replaced);
    },
  },
  {
    name: 'key packages: put, get, count by kind, delete',
    async run(store) {
      const [one, two, last] = [bytes(1), bytes(2), bytes(3)];
      assert.deepEqual(await store.countKeyPackages(), { oneTime: 0, lastResort: 0 });
      assert.equal(await store.getKeyPackage(one), undefined);
      await store.putKeyPackage(one, { publicBytes: bytes(10), privateBytes: bytes(11), lastResort: false });
      await store.putKeyPackage(two, { publicBytes: bytes(20), privateBytes: bytes(21), lastResort: false });
      await store.putKeyPackage(last, { publicBytes: bytes(30), privateBytes: bytes(31), lastResort: true });
      // The fields the interface names (a store may keep more beside them).
      const got = await store.getKeyPackage(two);
      assert.ok(got, 'a stored key package is found');
      const { publicBytes, privateBytes, lastResort } = got;
      assert.deepEqual(
        { publicBytes, privateBytes, lastResort },
        {
          publicBytes: bytes(20),
          privateBytes: bytes(21),
          lastResort: false,
        },
      );
      assert.deepEqual(await store.countKeyPackages(), { oneTime: 2, lastResort: 1 });
      await store.deleteKeyPackage(one);
      await store.deleteKeyPackage(bytes(77)); // deleting what is not there is no error
      assert.equal(await store.getKeyPackage(one), undefined);
      assert.deepEqual(await store.countKeyPackages(), { oneTime: 1, lastResort: 1 });
    },
  },
  {
    name: 'MLS conversation states: put, replace, get, list, delete',
    async run(store) {
      const [a, b] = [bytes(0xa1), bytes(0xb2)];
      assert.equal(await store.getConversation(a), undefined);
      assert.deepEqual(await store.listConversations(), []);
      await store.putConversation(a, bytes(1, 1));
      await store.putConversation(b, bytes(2, 2));
      await store.putConversation(a, bytes(1, 2, 3));
      assert.deepEqual(await store.getConversation(a), bytes(1, 2, 3));
      const listed = (await store.listConversations()).map((id) => Array.from(id).join(',')).sort();
      assert.deepEqual(listed, ['161', '178']);
      await store.deleteConversation(a);
      assert.equal(await store.getConversation(a), undefined);
      assert.deepEqual(await store.listConversations(), [b]);
    },
  },
  {
    name: 'conversation infos: put, replace, get, list, optional fields kept and left out',
    async run(store) {
      assert.equal(await store.getConversationInfo('c1'), undefined);
      assert.deepEqual(await store.listConversationInfos(), []);
      const direct = info('c2', { kind: 'direct', peer: 'bob', replacedBy: 'c3', brokenAt: 5 });
      await store.putConversationInfo(info('c1'));
      await store.putConversationInfo(direct);
      await store.putConversationInfo(info('c1', { name: 'renamed', unread: 3, admins: ['alice', 'bob'] }));
      assert.deepEqual(
        await store.getConversationInfo('c1'),
        info('c1', { name: 'renamed', unread: 3, admins: ['alice', 'bob'] }),
      );
      assert.deepEqual(await store.getConversationInfo('c2'), direct);
      const listed = (await store.listConversationInfos()).sort(byKey((i) => i.id));
      assert.deepEqual(listed, [
        info('c1', { name: 'renamed', unread: 3, admins: ['alice', 'bob'] }),
        direct,
      ]);
    },
  },
  {
    name: 'a stored value is a copy: changing the object after put or get changes nothing stored',
    async run(store) {
      const record = info('c1');
      await store.putConversationInfo(record);
      record.name = 'changed after put';
      const got = (await store.getConversationInfo('c1'))!;
      got.unread = 42;
      assert.deepEqual(await store.getConversationInfo('c1'), info('c1'));
    },
  },
  {
    name: 'messages: per conversation in receive order, replaced in place, deleted, optional fields kept',
    async run(store) {
      const withReply: StoredMessage = {
        ...message('c1', 'm1', 30),
        replyTo: 'm2',
        attachment: {
          id: 'att',
          key: bytes(1, 2),
          digest: bytes(3, 4),
          size: 10,
          contentType: 'image/png',
          fileName: 'a.png',
          token: 'tok',
        },
        reactions: { bob: ['👍'] },
        deliveredTo: ['bob'],
        readTo: ['bob'],
      };
      assert.equal(await store.getMessage('c1', 'm1'), undefined);
      assert.deepEqual(await store.listMessages('c1'), []);
      await store.putMessage(withReply);
      await store.putMessage(message('c1', 'm2', 10));
      await store.putMessage(message('c1', 'm3', 20));
      await store.putMessage(message('c2', 'm1', 5));
      assert.deepEqual(await store.getMessage('c1', 'm1'), withReply);
      assert.deepEqual(await store.getMessage('c2', 'm1'), message('c2', 'm1', 5));
      assert.deepEqual(
        (await store.listMessages('c1')).map((m) => m.id),
        ['m2', 'm3', 'm1'],
      );
      const edited = { ...message('c1', 'm3', 20), text: 'edited', edited: true, state: 'read' as const };
      await store.putMessage(edited);
      assert.deepEqual(await store.getMessage('c1', 'm3'), edited);
      assert.equal((await store.listMessages('c1')).length, 3);
      await store.deleteMessage('c1', 'm2');
      assert.equal(await store.getMessage('c1', 'm2'), undefined);
      assert.deepEqual(
        (await store.listMessages('c1')).map((m) => m.id),
        ['m3', 'm1'],
      );
      assert.deepEqual(await store.listMessages('c2'), [message('c2', 'm1', 5)]);
    },
  },
  {
    name: 'expired messages are deleted and counted; unexpiring and later ones stay',
    async run(store) {
      await store.putMessage(message('c1', 'never', 1, 0));
      await store.putMessage(message('c1', 'past', 2, 100));
      await store.putMessage(message('c2', 'past-too', 3, 150));
      await store.putMessage(message('c1', 'future', 4, 1000));
      assert.equal(await store.deleteExpiredMessages(500), 2);
      assert.deepEqual(
        (await store.listMessages('c1')).map((m) => m.id),
        ['never', 'future'],
      );
      assert.deepEqual(await store.listMessages('c2'), []);
      assert.equal(await store.deleteExpiredMessages(500), 0);
    },
  },
  {
    name: 'the outbox lists entries in creation order and deletes by client id',
    async run(store) {
      assert.deepEqual(await store.listOutbox(), []);
      await store.putOutbox(outbox('c3', 30));
      await store.putOutbox(outbox('c1', 10, 'msg'));
      await store.putOutbox(outbox('c2', 20));
      assert.deepEqual(await store.listOutbox(), [
        outbox('c1', 10, 'msg'),
        outbox('c2', 20),
        outbox('c3', 30),
      ]);
      await store.deleteOutbox('c2');
      await store.deleteOutbox('unknown');
      assert.deepEqual(await store.listOutbox(), [outbox('c1', 10, 'msg'), outbox('c3', 30)]);
    },
  },
  {
    name: 'deliveries already processed are remembered',
    async run(store) {
      assert.equal(await store.hasDelivery('d1'), false);
      await store.putDelivery('d1', 1000);
      await store.putDelivery('d1', 2000);
      assert.equal(await store.hasDelivery('d1'), true);
      assert.equal(await store.hasDelivery('d2'), false);
    },
  },
  {
    name: 'contacts: put, replace, get, list',
    async run(store) {
      assert.equal(await store.getContact('bob'), undefined);
      assert.deepEqual(await store.listContacts(), []);
      await store.putContact(contact('bob'));
      await store.putContact(contact('carol'));
      await store.putContact(contact('bob', { verified: true, identityChangedAt: 7, displayName: 'Bobby' }));
      assert.deepEqual(
        await store.getContact('bob'),
        contact('bob', { verified: true, identityChangedAt: 7, displayName: 'Bobby' }),
      );
      assert.deepEqual((await store.listContacts()).sort(byKey((c) => c.username)), [
        contact('bob', { verified: true, identityChangedAt: 7, displayName: 'Bobby' }),
        contact('carol'),
      ]);
    },
  },
  {
    name: 'settings: absent, then round-trip and replace their bytes',
    async run(store) {
      assert.equal(await store.getSetting('kt'), undefined);
      await store.putSetting('kt', bytes(1, 2, 3));
      await store.putSetting('other', bytes());
      await store.putSetting('kt', bytes(4));
      assert.deepEqual(await store.getSetting('kt'), bytes(4));
      assert.deepEqual(await store.getSetting('other'), bytes());
    },
  },
];

/** Runs one check on a fresh store from `open`, closing the store afterwards. */
export async function runClientStoreCheck(check: ClientStoreCheck, open: OpenClientStore): Promise<void> {
  const store = await open();
  try {
    await check.run(store);
  } finally {
    await store.close();
  }
}
