// The rules a received message is applied by, checked without a server: applyContent is a
// pure function from the content, its sender and the state it refers to, to the store writes
// and events it implies. What an attacker in a conversation might try (editing someone
// else's message, renaming a group without being an admin, slipping a ghost into a reset
// group) must produce no write at all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { body, create, ContentSchema, type Content, type DeviceAddress } from '@ghostproof/protocol';
import type { ConversationInfo, StoredMessage } from '@ghostproof/client';
import {
  acceptsContent,
  applyContent,
  targetsOf,
  type ContentEffects,
  type ReceivedContent,
  type ResetView,
} from '../src/content-application.js';
import { toHex } from '../src/bytes.js';

const CONVERSATION = 'aa'.repeat(16);
const PREVIOUS = 'bb'.repeat(16);
const NOW = 1_700_000_000_000;
const bob: DeviceAddress = { username: 'bob', deviceId: 1 };
const mallory: DeviceAddress = { username: 'mallory', deviceId: 1 };

function info(fields: Partial<ConversationInfo> = {}): ConversationInfo {
  return {
    id: CONVERSATION,
    kind: 'group',
    status: 'active',
    name: 'team',
    admins: ['alice'],
    unread: 0,
    lastActivity: 0,
    sentSinceUpdate: 0,
    lastUpdateAt: 0,
    disappearingSeconds: 0,
    ...fields,
  };
}

function content(bodyOf: Content['body'], id = 1): Content {
  return create(ContentSchema, { messageId: new Uint8Array(16).fill(id), sentAt: 42n, body: bodyOf });
}

function stored(id: number, sender: DeviceAddress, fields: Partial<StoredMessage> = {}): StoredMessage {
  return {
    conversationId: CONVERSATION,
    id: toHex(new Uint8Array(16).fill(id)),
    sender,
    sentAt: 1,
    receivedAt: 1,
    state: 'sent',
    expiresAt: 0,
    text: 'original',
    reactions: {},
    deliveredTo: [],
    readTo: [],
    edited: false,
    deleted: false,
    ...fields,
  };
}

function received(fields: Partial<ReceivedContent> & Pick<ReceivedContent, 'content'>): ReceivedContent {
  return {
    conversationId: CONVERSATION,
    self: 'alice',
    sender: bob,
    info: info(),
    senderContact: undefined,
    now: NOW,
    disabled: {},
    targets: new Map(),
    expiresAt: 0,
    admins: ['alice'],
    reset: undefined,
    ...fields,
  };
}

function targets(...messages: StoredMessage[]): Map<string, StoredMessage> {
  return new Map(messages.map((m) => [m.id, m]));
}

function kinds(effects: ContentEffects): string[] {
  return effects.steps.map((s) => (s.kind === 'emit' ? `emit:${s.name}` : s.kind));
}

describe('applying received content', () => {
  it('stores a text message, counts it unread, announces it and answers with a delivered receipt', () => {
    const effects = applyContent(received({ content: content(body.text('hello')), expiresAt: NOW + 5000 }));
    assert.deepEqual(kinds(effects), ['put-message', 'put-conversation', 'emit:message']);
    assert.equal(effects.sendDeliveredReceipt, true);
    const put = effects.steps[0]!;
    assert.ok(put.kind === 'put-message');
    assert.equal(put.message.text, 'hello');
    assert.equal(put.message.state, 'received');
    assert.equal(put.message.expiresAt, NOW + 5000);
    assert.equal(put.message.sentAt, 42);
    const conversation = effects.steps[1]!;
    assert.ok(conversation.kind === 'put-conversation');
    assert.equal(conversation.info.unread, 1);
    assert.equal(conversation.info.lastActivity, NOW);
  });

  it('sends no delivered receipt in a conversation that is still a request', () => {
    const effects = applyContent(
      received({ content: content(body.text('hi')), info: info({ status: 'request' }) }),
    );
    assert.equal(effects.sendDeliveredReceipt, false);
    assert.deepEqual(kinds(effects), ['put-message', 'put-conversation', 'emit:message']);
  });

  it('drops everything from a blocked account, and everything in a declined conversation', () => {
    const blocked = received({
      content: content(body.text('let me in')),
      senderContact: {
        username: 'bob',
        identityKey: new Uint8Array(32),
        verified: false,
        blocked: true,
        accepted: true,
        identityChangedAt: 0,
        displayName: '',
      },
    });
    assert.equal(acceptsContent(blocked.info, blocked.senderContact), false);
    assert.deepEqual(applyContent(blocked).steps, []);
    const declined = received({ content: content(body.text('hi')), info: info({ status: 'declined' }) });
    assert.deepEqual(applyContent(declined).steps, []);
  });

  it("refuses an edit or a delete of someone else's message", () => {
    const alices = stored(7, { username: 'alice', deviceId: 1 });
    const edit = content(body.edit(new Uint8Array(16).fill(7), 'rewritten'));
    assert.deepEqual(
      applyContent(received({ content: edit, sender: mallory, targets: targets(alices) })).steps,
      [],
    );
    const del = content(body.delete(new Uint8Array(16).fill(7)));
    assert.deepEqual(
      applyContent(received({ content: del, sender: mallory, targets: targets(alices) })).steps,
      [],
    );
  });

  it("applies the author's own edit and delete", () => {
    const bobs = stored(7, bob);
    const edit = applyContent(
      received({ content: content(body.edit(new Uint8Array(16).fill(7), 'fixed')), targets: targets(bobs) }),
    );
    assert.deepEqual(kinds(edit), ['put-message', 'emit:edit']);
    const put = edit.steps[0]!;
    assert.ok(put.kind === 'put-message' && put.message.text === 'fixed' && put.message.edited);
    const del = applyContent(
      received({ content: content(body.delete(new Uint8Array(16).fill(7))), targets: targets(bobs) }),
    );
    assert.deepEqual(del.steps[0], {
      kind: 'delete-message',
      conversationId: CONVERSATION,
      messageId: bobs.id,
    });
  });

  it('adds and removes a reaction under the reacting account', () => {
    const target = stored(3, { username: 'alice', deviceId: 1 }, { reactions: { bob: ['👍'] } });
    const add = applyContent(
      received({
        content: content(body.reaction(new Uint8Array(16).fill(3), '🎉')),
        targets: targets(target),
      }),
    );
    const added = add.steps[0]!;
    assert.ok(added.kind === 'put-message');
    assert.deepEqual(added.message.reactions, { bob: ['👍', '🎉'] });
    const remove = applyContent(
      received({
        content: content(body.reaction(new Uint8Array(16).fill(3), '👍', true)),
        targets: targets(target),
      }),
    );
    const removed = remove.steps[0]!;
    assert.ok(removed.kind === 'put-message');
    assert.deepEqual(removed.message.reactions, { bob: [] });
  });

  it("counts receipts only for this account's own messages, once per reader", () => {
    const mine = stored(1, { username: 'alice', deviceId: 1 });
    const theirs = stored(2, bob);
    const ids = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2), new Uint8Array(16).fill(1)];
    const effects = applyContent(
      received({ content: content(body.receipt('read', ids)), targets: targets(mine, theirs) }),
    );
    // The message named twice is updated twice, the second time from the first update.
    assert.deepEqual(kinds(effects), ['put-message', 'emit:receipt', 'put-message', 'emit:receipt']);
    const last = effects.steps[2]!;
    assert.ok(last.kind === 'put-message');
    assert.equal(last.message.id, mine.id);
    assert.deepEqual(last.message.readTo, ['bob']);
    assert.deepEqual(last.message.deliveredTo, ['bob']);
    assert.equal(last.message.state, 'read');
  });

  it('reads at most 100 receipt targets', () => {
    const ids = Array.from({ length: 150 }, (_, i) => new Uint8Array(16).fill(i % 256));
    assert.equal(targetsOf(content(body.receipt('delivered', ids))).length, 100);
  });

  it('renames a group only for an admin, or anyone while the group has no admins', () => {
    const rename = content(body.groupName('pwned'));
    assert.deepEqual(applyContent(received({ content: rename, sender: mallory })).steps, []);
    const byAdmin = applyContent(received({ content: rename, sender: { username: 'alice', deviceId: 2 } }));
    assert.deepEqual(kinds(byAdmin), ['put-conversation', 'emit:conversation']);
    const noAdmins = applyContent(received({ content: rename, sender: mallory, admins: [] }));
    assert.deepEqual(kinds(noAdmins), ['put-conversation', 'emit:conversation']);
    const inDirect = applyContent(received({ content: rename, info: info({ kind: 'direct' }), admins: [] }));
    assert.deepEqual(inDirect.steps, []);
  });

  it('ignores the retired admin and timer messages unless the old behaviour is switched on', () => {
    const admins = content(body.groupAdmins(['mallory']));
    const timer = content(body.disappearingTimer(5));
    assert.deepEqual(
      applyContent(received({ content: admins, sender: mallory, info: info({ admins: [] }) })).steps,
      [],
    );
    assert.deepEqual(applyContent(received({ content: timer })).steps, []);
    const old = applyContent(
      received({
        content: admins,
        sender: mallory,
        info: info({ admins: [] }),
        disabled: { authenticatedAdmins: true },
      }),
    );
    const put = old.steps[0]!;
    assert.ok(put.kind === 'put-conversation');
    assert.deepEqual(put.info.admins, ['mallory']);
    const oldTimer = applyContent(received({ content: timer, disabled: { sharedDisappearingTimer: true } }));
    const timed = oldTimer.steps[0]!;
    assert.ok(timed.kind === 'put-conversation' && timed.info.disappearingSeconds === 5);
  });

  it('announces typing and a display name (cut to 100 characters)', () => {
    const typing = applyContent(received({ content: content(body.typing(true)) }));
    assert.deepEqual(typing.steps, [
      { kind: 'emit', name: 'typing', event: { conversationId: CONVERSATION, from: bob, started: true } },
    ]);
    const profile = applyContent(received({ content: content(body.profile('b'.repeat(150))) }));
    assert.deepEqual(kinds(profile), ['emit:profile']); // No contact record: nothing to store.
    const emitted = profile.steps[0]!;
    assert.ok(emitted.kind === 'emit' && emitted.name === 'profile');
    assert.equal(emitted.event.displayName.length, 100);
  });
});

describe('applying a group reset', () => {
  const previous = info({ id: PREVIOUS, status: 'left', name: 'old name' });
  const view = (fields: Partial<ResetView> = {}): ResetView => ({
    previous: { ...previous, status: 'active' },
    previousWasBroken: true,
    previousMembers: ['alice', 'bob', 'carol'],
    expected: ['alice', 'bob', 'carol'],
    actual: ['alice', 'bob', 'carol'],
    ...fields,
  });
  const reset = content(body.groupReset(new Uint8Array(16).fill(0xbb)));

  it('links the replacement of a conversation broken here too, with exactly its accounts', () => {
    const effects = applyContent(
      received({ content: reset, info: info({ status: 'request' }), reset: view() }),
    );
    assert.deepEqual(effects.steps, [
      { kind: 'put-conversation', info: { ...previous, status: 'left', replacedBy: CONVERSATION } },
      { kind: 'put-conversation', info: info({ status: 'active', name: 'old name' }) },
    ]);
  });

  it('refuses a replacement that brings in a ghost, and keeps it a request', () => {
    const effects = applyContent(
      received({ content: reset, reset: view({ actual: ['alice', 'bob', 'carol', 'ghost'] }) }),
    );
    assert.deepEqual(effects.steps, [
      {
        kind: 'emit',
        name: 'alarm',
        event: {
          kind: 'reset-refused',
          conversationId: CONVERSATION,
          previousConversationId: PREVIOUS,
          previousWasBroken: true,
          newcomers: ['ghost'],
          missing: [],
        },
      },
      { kind: 'put-conversation', info: info({ status: 'request' }) },
    ]);
  });

  it('refuses to replace a conversation that is fine here', () => {
    const effects = applyContent(received({ content: reset, reset: view({ previousWasBroken: false }) }));
    assert.deepEqual(kinds(effects), ['emit:alarm', 'put-conversation']);
  });

  it('ignores a reset from someone who was not in the conversation it names', () => {
    const effects = applyContent(received({ content: reset, sender: mallory, reset: view() }));
    assert.deepEqual(effects.steps, []);
  });

  it('links whoever is in it when the roster check is switched off (negative control)', () => {
    const effects = applyContent(
      received({ content: reset, reset: view({ actual: ['ghost'] }), disabled: { resetRosterCheck: true } }),
    );
    assert.deepEqual(kinds(effects), ['put-conversation']);
  });
});
