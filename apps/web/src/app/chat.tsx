// One conversation: its banners (identity changes, alarms, a message request), the timeline of
// messages and roster events, the typing indicator, the members panel and the composer.
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { Contact, ConversationInfo, StoredMessage } from '@ghostproof/client/browser';
import type { Member } from '@ghostproof/protocol';
import { AttachmentView } from './attachment.js';
import { useAsync, useTopics } from './hooks.js';
import { Members } from './members.js';
import type { Model, Note } from './model.js';
import { navigate } from './navigation.js';
import {
  alarmText,
  conversationTitle,
  deliveryText,
  disappearingChoices,
  errorText,
  formatTime,
  personName,
  rosterText,
} from './text.js';

const REACTIONS = ['👍', '❤️', '😂'] as const;
const TYPING_REPEAT_MS = 4000;
const TYPING_IDLE_MS = 5000;
/** Files above this are refused before reading them (the server's default limit is 100 MiB). */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024 - 16;

type Entry =
  { kind: 'message'; at: number; message: StoredMessage } | { kind: 'note'; at: number; note: Note };

export function Chat({ model, id }: { model: Model; id: string }) {
  const m = model.messenger;
  const infoVersion = useTopics(model, ['conversations']);
  const messagesVersion = useTopics(model, [`messages:${id}`, 'messages']);
  const notesVersion = useTopics(model, [`notes:${id}`]);
  const contactsVersion = useTopics(model, ['contacts']);
  const [expiryTick, setExpiryTick] = useState(0);
  const [membersOpen, setMembersOpen] = useState(false);
  const [replyTo, setReplyTo] = useState<StoredMessage | undefined>(undefined);
  const [editing, setEditing] = useState<StoredMessage | undefined>(undefined);
  const [error, setError] = useState('');
  const info = useAsync(() => model.conversation(id), [id, infoVersion]);
  const messages = useAsync(() => m.messages(id), [id, messagesVersion, expiryTick]) ?? [];
  const notes = useAsync(() => model.notes(id), [id, notesVersion]) ?? [];
  const members =
    useAsync(() => m.members(id).catch(() => [] as Member[]), [id, infoVersion, notesVersion]) ?? [];
  const contacts = useAsync(() => model.contacts(), [contactsVersion]) ?? [];
  const endRef = useRef<HTMLLIElement>(null);

  // Opening a conversation re-reads its members' signed device lists: a changed identity key
  // shows up here even if no message arrived since.
  const memberNames = members.map((x) => x.username).join(',');
  useEffect(() => {
    for (const username of memberNames.split(',')) {
      if (username && username !== model.username) m.lookup(username).catch(() => undefined);
    }
  }, [m, model.username, memberNames]);

  // Read receipts while the conversation is on screen.
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

  // Disappearing messages leave the screen when they expire.
  useEffect(() => {
    const next = Math.min(...messages.filter((x) => x.expiresAt > 0).map((x) => x.expiresAt));
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => setExpiryTick((t) => t + 1), Math.max(0, next - Date.now()) + 50);
    return () => clearTimeout(timer);
  }, [messages]);

  const count = messages.length + notes.length;
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: 'end' });
  }, [count]);

  if (!info) {
    return (
      <section className="chat" aria-busy="true">
        <p role="status">Opening conversation…</p>
      </section>
    );
  }

  const names = new Map(contacts.filter((c) => c.displayName).map((c) => [c.username, c.displayName]));
  const title = conversationTitle(info, names);
  const group = info.kind === 'group';
  const others = members.map((x) => x.username).filter((u) => u !== model.username);
  const changedContacts = contacts.filter(
    (c) => c.identityChangedAt > 0 && (others.includes(c.username) || c.username === info.peer),
  );
  const alarms = notes.filter(
    (n): n is Extract<Note, { kind: 'alarm' }> => n.kind === 'alarm' && !n.dismissed,
  );
  const entries: Entry[] = [
    ...messages.map((message): Entry => ({ kind: 'message', at: message.receivedAt, message })),
    ...notes
      .filter((n) => n.kind === 'roster' || n.kind === 'notice')
      .map((note): Entry => ({ kind: 'note', at: note.at, note })),
  ].sort((a, b) => a.at - b.at);
  const byId = new Map(messages.map((x) => [x.id, x]));
  const nameOf = (username: string) => personName(username, names);

  const act = async (action: () => Promise<unknown>) => {
    setError('');
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="chat" aria-labelledby="chat-title">
      <header className="chat-header">
        <h2 id="chat-title">
          {group ? '# ' : ''}
          {title}
        </h2>
        {group && <span className="hint">{members.length} members</span>}
        {info.status === 'active' && (
          <label className="inline">
            Disappearing messages{' '}
            <select
              value={info.disappearingSeconds}
              // In a group only an admin sets the timer (members would refuse anyone else's).
              disabled={group && info.admins.length > 0 && !info.admins.includes(model.username)}
              onChange={(ev) => void act(() => m.setDisappearing(id, Number(ev.target.value)))}
            >
              {disappearingChoices.map((c) => (
                <option key={c.seconds} value={c.seconds}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        )}
        <button
          type="button"
          aria-expanded={membersOpen}
          aria-controls="members-panel"
          onClick={() => setMembersOpen((open) => !open)}
        >
          Members
        </button>
        {!group && info.peer && (
          <button
            type="button"
            onClick={() => navigate(`#/safety/${encodeURIComponent(info.peer ?? '')}/${id}`)}
          >
            Safety number
          </button>
        )}
      </header>

      {changedContacts.map((c) => (
        <IdentityBanner key={c.username} model={model} contact={c} conversationId={id} />
      ))}
      {alarms.map((note) => (
        <div key={note.id} className="banner alarm" role="alert">
          <strong>{alarmText(note.alarm).title}.</strong> {alarmText(note.alarm).detail}{' '}
          <button type="button" onClick={() => void model.dismissAlarm(id, note)}>
            Dismiss
          </button>
        </div>
      ))}
      {info.status === 'request' && <RequestBar model={model} info={info} act={act} />}
      {info.status === 'left' && (
        <p className="banner notice" role="status">
          You are no longer a member of this conversation.
          {info.replacedBy && (
            <>
              {' '}
              It continues in{' '}
              <a href={`#/c/${info.replacedBy}`} className="link">
                a new conversation
              </a>
              .
            </>
          )}
        </p>
      )}
      {error && (
        <p className="banner error" role="alert">
          {error}
        </p>
      )}

      <div className="chat-body">
        <ol className="timeline" aria-label="Messages" role="log" aria-live="polite">
          {entries.map((entry) =>
            entry.kind === 'note' ? (
              <li key={`n-${entry.note.id}`} className="roster-event">
                {entry.note.kind === 'roster'
                  ? rosterText(entry.note.event)
                  : entry.note.kind === 'notice'
                    ? entry.note.text
                    : ''}
              </li>
            ) : (
              <MessageItem
                key={`m-${entry.message.id}`}
                model={model}
                conversation={info}
                message={entry.message}
                original={entry.message.replyTo ? byId.get(entry.message.replyTo) : undefined}
                nameOf={nameOf}
                onReply={() => {
                  setEditing(undefined);
                  setReplyTo(entry.message);
                  document.getElementById('composer-text')?.focus();
                }}
                onEdit={() => {
                  setReplyTo(undefined);
                  setEditing(entry.message);
                  document.getElementById('composer-text')?.focus();
                }}
                act={act}
              />
            ),
          )}
          <li ref={endRef} className="end" aria-hidden="true" />
        </ol>
        {membersOpen && <Members model={model} info={info} members={members} contacts={contacts} />}
      </div>
      <TypingIndicator model={model} id={id} nameOf={nameOf} />
      {info.status === 'active' && (
        <Composer
          key={id}
          model={model}
          id={id}
          replyTo={replyTo}
          editing={editing}
          lastOwn={[...messages].reverse().find((x) => x.sender.username === model.username && !x.attachment)}
          onDone={() => {
            setReplyTo(undefined);
            setEditing(undefined);
          }}
          onEdit={setEditing}
          nameOf={nameOf}
          onError={setError}
        />
      )}
    </section>
  );
}

function IdentityBanner(props: { model: Model; contact: Contact; conversationId: string }) {
  const { contact, model } = props;
  const name = contact.username;
  return (
    <div className="banner identity" role="alert">
      <strong>{name}’s safety number changed.</strong> This happens when {name} sets up Ghostproof again — or
      when someone tries to intercept the conversation. Compare the new safety number with {name} in person or
      over another channel.
      {contact.verified &&
        ' You had verified them: sending here is paused until you acknowledge the change.'}{' '}
      <button
        type="button"
        onClick={() => navigate(`#/safety/${encodeURIComponent(name)}/${props.conversationId}`)}
      >
        View safety number
      </button>{' '}
      <button type="button" onClick={() => void model.messenger.acknowledgeIdentityChange(name)}>
        Acknowledge
      </button>
    </div>
  );
}

function RequestBar(props: {
  model: Model;
  info: ConversationInfo;
  act: (a: () => Promise<unknown>) => Promise<void>;
}) {
  const { model, info, act } = props;
  const m = model.messenger;
  const from = info.kind === 'direct' ? info.peer : undefined;
  return (
    <div className="banner request" role="region" aria-label="Message request">
      <p>
        {from ? (
          <>
            <strong>{from}</strong> wants to message you.
          </>
        ) : (
          <>You were added to this group by someone you have not talked to.</>
        )}{' '}
        They do not learn whether you read it until you accept.
      </p>
      <button type="button" onClick={() => void act(() => m.accept(info.id))}>
        Accept
      </button>{' '}
      <button
        type="button"
        onClick={() =>
          void act(async () => {
            await m.decline(info.id);
            navigate('#/');
          })
        }
      >
        Decline
      </button>{' '}
      {from && (
        <button
          type="button"
          className="danger"
          onClick={() =>
            void act(async () => {
              await m.block(from);
              navigate('#/');
            })
          }
        >
          Block {from}
        </button>
      )}
    </div>
  );
}

function MessageItem(props: {
  model: Model;
  conversation: ConversationInfo;
  message: StoredMessage;
  original: StoredMessage | undefined;
  nameOf: (username: string) => string;
  onReply: () => void;
  onEdit: () => void;
  act: (a: () => Promise<unknown>) => Promise<void>;
}) {
  const { model, conversation, message, original, nameOf, act } = props;
  const m = model.messenger;
  const mine = message.sender.username === model.username;
  const active = conversation.status === 'active';
  const [confirmDelete, setConfirmDelete] = useState(false);
  const sender = mine ? 'You' : nameOf(message.sender.username);
  const counts = new Map<string, string[]>();
  for (const [username, emojis] of Object.entries(message.reactions)) {
    for (const emoji of emojis) counts.set(emoji, [...(counts.get(emoji) ?? []), username]);
  }
  const myReactions = message.reactions[model.username] ?? [];
  const state = mine ? deliveryText(message, conversation.kind === 'group') : '';
  return (
    <li className={`message${mine ? ' mine' : ''}`} data-message-id={message.id}>
      <div className="meta">
        <span className="sender">{sender}</span>{' '}
        <time dateTime={new Date(message.sentAt).toISOString()}>{formatTime(message.sentAt)}</time>
        {message.expiresAt > 0 && (
          <span className="hint" title="Disappears">
            {' '}
            · disappears at {formatTime(message.expiresAt)}
          </span>
        )}
      </div>
      {message.replyTo && (
        <blockquote className="quote" aria-label="In reply to">
          {original ? (
            <>
              <span className="sender">
                {original.sender.username === model.username ? 'You' : nameOf(original.sender.username)}
              </span>
              : {original.text || original.attachment?.fileName || ''}
            </>
          ) : (
            'Original message unavailable'
          )}
        </blockquote>
      )}
      {message.attachment && <AttachmentView model={model} attachment={message.attachment} />}
      {message.text && <p className="text">{message.text}</p>}
      {message.edited && <span className="hint"> (edited)</span>}
      {counts.size > 0 && (
        <ul className="reactions" aria-label="Reactions">
          {[...counts].map(([emoji, who]) => (
            <li key={emoji} title={who.join(', ')} aria-label={`${emoji} from ${who.join(', ')}`}>
              {emoji} {who.length}
            </li>
          ))}
        </ul>
      )}
      {state && (
        <span className={`state ${message.state}`} aria-label={`Status: ${state}`}>
          {state}
        </span>
      )}
      {active && (
        <div className="message-actions" role="group" aria-label={`Actions for message from ${sender}`}>
          <button type="button" onClick={props.onReply} aria-label={`Reply to message from ${sender}`}>
            Reply
          </button>
          {REACTIONS.map((emoji) => {
            const reacted = myReactions.includes(emoji);
            return (
              <button
                key={emoji}
                type="button"
                aria-pressed={reacted}
                aria-label={`React with ${emoji}`}
                onClick={() => void act(() => m.react(conversation.id, message.id, emoji, reacted))}
              >
                {emoji}
              </button>
            );
          })}
          {mine && !message.attachment && (
            <button type="button" onClick={props.onEdit}>
              Edit
            </button>
          )}
          {mine &&
            (confirmDelete ? (
              <>
                <button
                  type="button"
                  className="danger"
                  onClick={() => void act(() => m.deleteForEveryone(conversation.id, message.id))}
                >
                  Delete for everyone
                </button>
                <button type="button" onClick={() => setConfirmDelete(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            ))}
        </div>
      )}
    </li>
  );
}

function TypingIndicator(props: { model: Model; id: string; nameOf: (u: string) => string }) {
  useTopics(props.model, [`typing:${props.id}`]);
  const typing = props.model.typing(props.id);
  return (
    <p className="typing" aria-live="polite">
      {typing.length === 0
        ? ''
        : `${typing.map(props.nameOf).join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`}
    </p>
  );
}

function Composer(props: {
  model: Model;
  id: string;
  replyTo: StoredMessage | undefined;
  editing: StoredMessage | undefined;
  lastOwn: StoredMessage | undefined;
  onDone: () => void;
  onEdit: (message: StoredMessage) => void;
  nameOf: (username: string) => string;
  onError: (text: string) => void;
}) {
  const { model, id, replyTo, editing } = props;
  const m = model.messenger;
  const [text, setText] = useState('');
  const [uploading, setUploading] = useState(false);
  const typingSent = useRef(0);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useTopics(model, ['progress']);
  const progress = model.progress(`upload:${id}`);

  useEffect(() => {
    if (editing) setText(editing.text);
  }, [editing]);

  const stopTyping = () => {
    if (idleTimer.current) clearTimeout(idleTimer.current);
    if (typingSent.current > 0) {
      typingSent.current = 0;
      m.typing(id, false).catch(() => undefined);
    }
  };
  // Stops "typing" when the conversation is left.
  useEffect(() => stopTyping, []);

  const onInput = (value: string) => {
    setText(value);
    if (editing) return;
    if (value.length === 0) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSent.current > TYPING_REPEAT_MS) {
      typingSent.current = now;
      m.typing(id, true).catch(() => undefined);
    }
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  };

  const submit = async (ev?: FormEvent) => {
    ev?.preventDefault();
    const body = text.trim();
    if (!body) return;
    props.onError('');
    try {
      if (editing) await m.edit(id, editing.id, body);
      else await m.sendText(id, body, replyTo?.id);
      setText('');
      stopTyping();
      props.onDone();
    } catch (err) {
      props.onError(errorText(err));
    }
  };

  const onKeyDown = (ev: KeyboardEvent<HTMLTextAreaElement>) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.nativeEvent.isComposing) {
      ev.preventDefault();
      void submit();
    } else if (ev.key === 'Escape' && (replyTo || editing)) {
      ev.preventDefault();
      setText('');
      props.onDone();
    } else if (ev.key === 'ArrowUp' && text === '' && props.lastOwn) {
      ev.preventDefault();
      props.onEdit(props.lastOwn);
    }
  };

  const attach = async (file: File) => {
    props.onError('');
    if (file.size > MAX_ATTACHMENT_BYTES) {
      props.onError('That file is larger than this server accepts (100 MB).');
      return;
    }
    const key = `upload:${id}`;
    setUploading(true);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      model.setProgress(key, { done: 0, total: bytes.length + 16 });
      model.uploadProgress = (sent, total) => model.setProgress(key, { done: sent, total });
      const caption = text.trim();
      const messageId = await m.sendAttachment(id, {
        bytes,
        contentType: file.type || 'application/octet-stream',
        fileName: file.name,
        ...(caption ? { caption } : {}),
      });
      // The sender keeps its own copy to show, instead of downloading what it just uploaded.
      const sent = await model.store.getMessage(id, messageId);
      if (sent?.attachment)
        model.rememberAttachment(sent.attachment.id, new Blob([bytes], { type: file.type }));
      if (caption) setText('');
    } catch (err) {
      props.onError(errorText(err));
    } finally {
      model.uploadProgress = undefined;
      model.setProgress(key, undefined);
      setUploading(false);
    }
  };

  return (
    <form className="composer" aria-label="Write a message" onSubmit={(ev) => void submit(ev)}>
      {replyTo && (
        <div className="composer-context">
          Replying to{' '}
          {replyTo.sender.username === model.username ? 'yourself' : props.nameOf(replyTo.sender.username)}:{' '}
          <q>{replyTo.text || replyTo.attachment?.fileName}</q>{' '}
          <button type="button" onClick={props.onDone} aria-label="Cancel reply">
            Cancel
          </button>
        </div>
      )}
      {editing && (
        <div className="composer-context">
          Editing your message{' '}
          <button
            type="button"
            onClick={() => {
              setText('');
              props.onDone();
            }}
            aria-label="Cancel edit"
          >
            Cancel
          </button>
        </div>
      )}
      {progress && (
        <div className="progress-line">
          <label htmlFor={`upload-${id}`}>Uploading</label>{' '}
          <progress
            id={`upload-${id}`}
            max={progress.total}
            value={progress.done}
            aria-label="Upload progress"
          />{' '}
          {Math.floor((100 * progress.done) / Math.max(1, progress.total))}%
        </div>
      )}
      <div className="composer-row">
        <label htmlFor="composer-text" className="visually-hidden">
          Message
        </label>
        <textarea
          id="composer-text"
          rows={2}
          value={text}
          placeholder={editing ? 'Edit your message' : 'Message (Enter sends, Shift+Enter for a new line)'}
          onChange={(ev) => onInput(ev.target.value)}
          onKeyDown={onKeyDown}
          onBlur={stopTyping}
        />
        <input
          id={`attach-${id}`}
          type="file"
          className="visually-hidden"
          aria-label="Attach a file"
          disabled={uploading}
          onChange={(ev) => {
            const file = ev.target.files?.[0];
            ev.target.value = '';
            if (file) void attach(file);
          }}
        />
        <label
          htmlFor={`attach-${id}`}
          className={`button${uploading ? ' disabled' : ''}`}
          aria-hidden="true"
        >
          Attach
        </label>
        <button type="submit">{editing ? 'Save' : 'Send'}</button>
      </div>
    </form>
  );
}
