// Checks of the IndexedDB ClientStore inside a real browser: every record kind round-trips,
// listings are ordered, expired messages go, data survives reopening, nothing readable is in
// the database, a changed or moved sealed value is refused, and the keys cannot be exported.
// The test calls `runStoreChecks` and asserts that every check passed; `runStoreContract`
// runs the test kit's ClientStore contract, the same checks the Node stores pass.
import { IndexedDbClientStore, type StoredMessage } from '@ghostproof/client/browser';
import { clientStoreContract, runClientStoreCheck } from '@ghostproof/testkit/client-store-contract';

export interface StoreCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

declare global {
  interface Window {
    runStoreChecks(): Promise<StoreCheck[]>;
    runStoreContract(): Promise<StoreCheck[]>;
  }
}

const bytes = (...values: number[]) => Uint8Array.from(values);
const same = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

function message(
  conversationId: string,
  id: string,
  receivedAt: number,
  text: string,
  expiresAt = 0,
): StoredMessage {
  return {
    conversationId,
    id,
    sender: { username: 'plaintext-sender', deviceId: 1 },
    sentAt: receivedAt,
    receivedAt,
    text,
    state: 'received',
    reactions: {},
    deliveredTo: [],
    readTo: [],
    edited: false,
    deleted: false,
    expiresAt,
  };
}

async function rawRecords(name: string): Promise<{ db: IDBDatabase; records: Record<string, unknown>[] }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error('open failed'));
  });
  const records = await new Promise<Record<string, unknown>[]>((resolve) => {
    const req = db.transaction('records').objectStore('records').getAll();
    req.onsuccess = () => resolve(req.result as Record<string, unknown>[]);
  });
  return { db, records };
}

async function putRaw(db: IDBDatabase, record: Record<string, unknown>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction('records', 'readwrite');
    tx.objectStore('records').put(record);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(new Error('write failed'));
  });
}

window.runStoreChecks = async () => {
  const checks: StoreCheck[] = [];
  const check = async (name: string, run: () => Promise<string | true>) => {
    try {
      const outcome = await run();
      checks.push({ name, ok: outcome === true, detail: outcome === true ? '' : outcome });
    } catch (err) {
      checks.push({ name, ok: false, detail: err instanceof Error ? err.message : String(err) });
    }
  };
  const dbName = `store-check-${crypto.getRandomValues(new Uint32Array(1))[0]}`;
  let store = await IndexedDbClientStore.open({ name: dbName });
  const changes: string[] = [];
  store.subscribe((c) => changes.push(`${c.kind}:${c.name}`));
  const secret = bytes(1, 2, 3, 250);

  await check('identity round trip keeps bytes', async () => {
    await store.putIdentity({
      serverUrl: 'https://example.test',
      username: 'plaintext-owner',
      identityPublicKey: bytes(9),
      identitySecretKey: secret,
      deviceId: 7,
      devicePublicKey: bytes(8),
      deviceSecretKey: secret,
      signedDeviceList: bytes(5, 5),
    });
    const back = await store.getIdentity();
    return (back?.deviceId === 7 && same(back.identitySecretKey, secret)) || 'identity differs';
  });

  await check('key packages count and delete', async () => {
    await store.putKeyPackage(bytes(1), { publicBytes: bytes(1), privateBytes: secret, lastResort: false });
    await store.putKeyPackage(bytes(2), { publicBytes: bytes(2), privateBytes: secret, lastResort: true });
    const before = await store.countKeyPackages();
    await store.deleteKeyPackage(bytes(1));
    const after = await store.countKeyPackages();
    const kept = await store.getKeyPackage(bytes(2));
    return (
      (before.oneTime === 1 &&
        before.lastResort === 1 &&
        after.oneTime === 0 &&
        same(kept?.privateBytes, secret)) ||
      `counts ${JSON.stringify([before, after])}`
    );
  });

  await check('MLS states put, list, get, delete', async () => {
    await store.putConversation(bytes(0xaa), secret);
    await store.putConversation(bytes(0xbb), bytes(4));
    const listed = (await store.listConversations()).map((g) => g[0]).sort();
    await store.deleteConversation(bytes(0xbb));
    return (
      (listed.join() === '170,187' &&
        same(await store.getConversation(bytes(0xaa)), secret) &&
        (await store.getConversation(bytes(0xbb))) === undefined) ||
      `listed ${listed.join()}`
    );
  });

  await check('messages list per conversation in receive order; expired ones are deleted', async () => {
    await store.putMessage(message('c1', 'm3', 3000, 'plaintext three'));
    await store.putMessage(message('c1', 'm1', 1000, 'plaintext one'));
    await store.putMessage(message('c1', 'm2', 2000, 'plaintext two', Date.now() - 1));
    await store.putMessage(message('c2', 'm9', 500, 'plaintext other'));
    const order = (await store.listMessages('c1')).map((m) => m.id).join();
    const removed = await store.deleteExpiredMessages(Date.now());
    const after = (await store.listMessages('c1')).map((m) => m.id).join();
    const other = (await store.listMessages('c2')).map((m) => m.id).join();
    await store.deleteMessage('c1', 'm1');
    const last = (await store.listMessages('c1')).map((m) => m.id).join();
    return (
      (order === 'm1,m2,m3' && removed === 1 && after === 'm1,m3' && other === 'm9' && last === 'm3') ||
      `order ${order}, removed ${removed}, after ${after}, other ${other}, last ${last}`
    );
  });

  await check('conversation infos, outbox, deliveries, contacts, settings and app records', async () => {
    const info = (id: string, lastActivity: number) => ({
      id,
      kind: 'group' as const,
      status: 'active' as const,
      name: `plaintext group ${id}`,
      admins: [],
      unread: 0,
      lastActivity,
      sentSinceUpdate: 0,
      lastUpdateAt: 0,
      disappearingSeconds: 0,
    });
    await store.putConversationInfo(info('g2', 20));
    await store.putConversationInfo(info('g1', 10));
    await store.putOutbox({ clientId: 'o2', groupId: 'g1', message: bytes(2), createdAt: 2 });
    await store.putOutbox({ clientId: 'o1', groupId: 'g1', message: bytes(1), createdAt: 1 });
    await store.deleteOutbox('o2');
    await store.putDelivery('d1', Date.now());
    await store.putContact({
      username: 'plaintext-contact',
      identityKey: bytes(3),
      verified: true,
      blocked: false,
      accepted: true,
      identityChangedAt: 0,
      displayName: 'Plaintext Name',
    });
    await store.putSetting('kt', new TextEncoder().encode('plaintext setting'));
    await store.putAppRecord('g1', 'n2', { note: 'plaintext note 2' }, 2);
    await store.putAppRecord('g1', 'n1', { note: 'plaintext note 1' }, 1);
    const infos = (await store.listConversationInfos()).map((i) => i.id).join();
    const outbox = (await store.listOutbox()).map((o) => o.clientId).join();
    const notes = (await store.listAppRecords<{ note: string }>('g1')).map((r) => r.note).join();
    const ok =
      infos === 'g1,g2' &&
      outbox === 'o1' &&
      (await store.hasDelivery('d1')) &&
      !(await store.hasDelivery('d2')) &&
      (await store.getContact('plaintext-contact'))?.verified === true &&
      (await store.listContacts()).length === 1 &&
      notes === 'plaintext note 1,plaintext note 2' &&
      new TextDecoder().decode(await store.getSetting('kt')) === 'plaintext setting' &&
      (await store.getSetting('other')) === undefined;
    return ok || `infos ${infos}, outbox ${outbox}, notes ${notes}`;
  });

  await check(
    'views hear about writes',
    async () =>
      (changes.includes('message:c1/m3') &&
        changes.includes('info:g1') &&
        changes.includes('contact:plaintext-contact')) ||
      `heard ${changes.length} changes`,
  );

  await check('everything survives closing and reopening', async () => {
    await store.close();
    store = await IndexedDbClientStore.open({ name: dbName });
    const identity = await store.getIdentity();
    return (
      (identity?.username === 'plaintext-owner' &&
        (await store.listMessages('c1')).length === 1 &&
        same(await store.getConversation(bytes(0xaa)), secret)) ||
      'data lost on reopening'
    );
  });

  await check('the database holds no names, texts or key bytes in the clear', async () => {
    const { db, records } = await rawRecords(dbName);
    db.close();
    const found: string[] = [];
    for (const record of records) {
      for (const value of Object.values(record)) {
        const text =
          value instanceof ArrayBuffer
            ? Array.from(new Uint8Array(value), (b) => String.fromCharCode(b)).join('')
            : JSON.stringify(value);
        if (/plaintext|example\.test|Plaintext/.test(text)) found.push(String(record.kind));
        if (value instanceof ArrayBuffer && text.includes(String.fromCharCode(1, 2, 3, 250)))
          found.push('key bytes');
      }
    }
    return (
      (records.length > 10 && found.length === 0) || `found ${found.join()} in ${records.length} records`
    );
  });

  await check('a changed sealed value is refused', async () => {
    const { db, records } = await rawRecords(dbName);
    const target = records.find((r) => r.kind === 'identity')!;
    const value = new Uint8Array((target.value as ArrayBuffer).slice(0));
    value[value.length - 1]! ^= 1;
    await putRaw(db, { ...target, value: value.buffer });
    db.close();
    try {
      await store.getIdentity();
      return 'a tampered identity was read';
    } catch {
      return true;
    }
  });

  await check('a sealed value moved to another record is refused', async () => {
    const { db, records } = await rawRecords(dbName);
    const contact = records.find((r) => r.kind === 'contact')!;
    const info = records.find((r) => r.kind === 'info')!;
    // The info record's ciphertext under the contact's name: a valid seal, wrong place.
    await putRaw(db, { ...contact, value: info.value });
    db.close();
    try {
      await store.getContact('plaintext-contact');
      return 'a moved value was read';
    } catch {
      return true;
    }
  });

  await check('the wrapping and naming keys are non-extractable CryptoKeys', async () => {
    const { db } = await rawRecords(dbName);
    const keys = await new Promise<{ wrap: CryptoKey; names: CryptoKey }[]>((resolve) => {
      const req = db.transaction('keys').objectStore('keys').getAll();
      req.onsuccess = () => resolve(req.result as { wrap: CryptoKey; names: CryptoKey }[]);
    });
    db.close();
    const key = keys[0];
    if (!key || keys.length !== 1) return `${keys.length} key records`;
    if (!(key.wrap instanceof CryptoKey) || key.wrap.extractable || key.names.extractable)
      return 'extractable key';
    for (const k of [key.wrap, key.names]) {
      try {
        await crypto.subtle.exportKey('raw', k);
        return 'a key was exported';
      } catch {
        // expected
      }
    }
    return key.wrap.algorithm.name === 'AES-GCM' || `wrap is ${key.wrap.algorithm.name}`;
  });

  await check('destroying the profile deletes the database', async () => {
    await store.close();
    await IndexedDbClientStore.destroy(dbName);
    const names = (await indexedDB.databases()).map((d) => d.name);
    return !names.includes(dbName) || 'database still listed';
  });

  return checks;
};

/** The ClientStore contract of the test kit, each check on a new database, deleted after. */
window.runStoreContract = async () => {
  const results: StoreCheck[] = [];
  for (const check of clientStoreContract) {
    const name = `store-contract-${crypto.getRandomValues(new Uint32Array(1))[0]}`;
    try {
      await runClientStoreCheck(check, () => IndexedDbClientStore.open({ name }));
      results.push({ name: check.name, ok: true, detail: '' });
    } catch (err) {
      results.push({ name: check.name, ok: false, detail: err instanceof Error ? err.message : String(err) });
    } finally {
      await IndexedDbClientStore.destroy(name);
    }
  }
  return results;
};
