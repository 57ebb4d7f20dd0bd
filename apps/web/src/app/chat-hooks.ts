// The hooks that keep one conversation's screen current: what it shows (re-read when its
// topics change, disappearing messages dropped as they expire), the members' identity keys
// re-checked, read receipts sent while it is visible, and the timeline kept scrolled to the end.
import { useEffect, useRef, useState } from 'react';
import type { ConversationInfo, StoredMessage } from '@ghostproof/client/browser';
import type { Member } from '@ghostproof/protocol';
import { useAsync, useTopics } from './hooks.js';
import type { Model } from './model.js';
import { errorText } from './text.js';

/** Runs an action, showing its error (or clearing the last one) in the conversation. */
export type Act = (action: () => Promise<unknown>) => Promise<void>;

/** One conversation as stored; `info` is undefined until the first read answers. */
export function useConversationData(model: Model, id: string) {
  const infoVersion = useTopics(model, ['conversations']);
  const notesVersion = useTopics(model, [`notes:${id}`]);
  const contactsVersion = useTopics(model, ['contacts']);
  const info = useAsync(() => model.conversation(id), [id, infoVersion]);
  const messages = useMessages(model, id);
  const notes = useAsync(() => model.notes(id), [id, notesVersion]) ?? [];
  const members =
    useAsync(
      () => model.messenger.members(id).catch(() => [] as Member[]),
      [id, infoVersion, notesVersion],
    ) ?? [];
  const contacts = useAsync(() => model.contacts(), [contactsVersion]) ?? [];
  return { info, messages, notes, members, contacts };
}

/** The conversation's messages; disappearing messages leave the screen when they expire. */
function useMessages(model: Model, id: string): StoredMessage[] {
  const messagesVersion = useTopics(model, [`messages:${id}`, 'messages']);
  const [expiryTick, setExpiryTick] = useState(0);
  const messages = useAsync(() => model.messenger.messages(id), [id, messagesVersion, expiryTick]) ?? [];
  useEffect(() => {
    const next = Math.min(...messages.filter((x) => x.expiresAt > 0).map((x) => x.expiresAt));
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => setExpiryTick((t) => t + 1), Math.max(0, next - Date.now()) + 50);
    return () => clearTimeout(timer);
  }, [messages]);
  return messages;
}

/**
 * Opening a conversation re-reads its members' signed device lists: a changed identity key
 * shows up here even if no message arrived since.
 */
export function useIdentityRefresh(model: Model, members: readonly Member[]): void {
  const m = model.messenger;
  const memberNames = members.map((x) => x.username).join(',');
  useEffect(() => {
    for (const username of memberNames.split(',')) {
      if (username && username !== model.username) m.lookup(username).catch(() => undefined);
    }
  }, [m, model.username, memberNames]);
}

/** Read receipts while the conversation is on screen. */
export function useReadReceipts(model: Model, id: string, info: ConversationInfo | undefined): void {
  const m = model.messenger;
  useEffect(() => {
    const markIfVisible = () => {
      if (info?.status === 'active' && info.unread > 0 && document.visibilityState === 'visible') {
        m.markRead(id).catch(() => undefined);
      }
    };
    markIfVisible();
    document.addEventListener('visibilitychange', markIfVisible);
    return () => document.removeEventListener('visibilitychange', markIfVisible);
  }, [m, id, info]);
}

/** A ref for the timeline's last item, scrolled into view whenever `count` changes. */
export function useScrollToEnd(count: number) {
  const endRef = useRef<HTMLLIElement>(null);
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: 'end' });
  }, [count]);
  return endRef;
}

/** The conversation's error line and the `act` that fills it. */
export function useActionError() {
  const [error, setError] = useState('');
  const act: Act = async (action) => {
    setError('');
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return { error, setError, act };
}
