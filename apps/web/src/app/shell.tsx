// The signed-in page: header, connection banner, conversation list and the view the address
// (#/c/<id>, #/safety/<name>, #/new-chat, #/new-group, #/settings) selects.
import { useEffect, useRef, type KeyboardEvent } from 'react';
import type { ConversationInfo } from '@ghostproof/client/browser';
import { Chat } from './chat.js';
import { NewChat, NewGroup, Settings } from './forms.js';
import { useAsync, useTopics } from './hooks.js';
import { GLOBAL_NOTES, type Model } from './model.js';
import { SafetyNumberView } from './safety.js';
import { navigate, useRoute, type Route } from './navigation.js';
import { alarmText, conversationTitle } from './text.js';

export function Shell({ model }: { model: Model }) {
  const route = useRoute();
  useEffect(() => {
    model.openConversation = route.kind === 'conversation' ? route.id : undefined;
  }, [model, route]);
  return (
    <div className="app">
      <a className="skip" href="#composer-text">
        Skip to message composer
      </a>
      <header className="topbar">
        <h1>Ghostproof</h1>
        <span className="whoami">
          Signed in as <strong>{model.username}</strong>
        </span>
        <nav aria-label="Actions" className="actions">
          <button type="button" onClick={() => navigate('#/new-chat')}>
            New chat
          </button>
          <button type="button" onClick={() => navigate('#/new-group')}>
            New group
          </button>
          <button type="button" onClick={() => navigate('#/settings')}>
            Settings
          </button>
        </nav>
      </header>
      <ConnectionBanner model={model} />
      <GlobalAlarms model={model} />
      <div className="layout">
        <ConversationList model={model} selected={route.kind === 'conversation' ? route.id : undefined} />
        <main className="view" id="main">
          <View model={model} route={route} />
        </main>
      </div>
    </div>
  );
}

function View({ model, route }: { model: Model; route: Route }) {
  switch (route.kind) {
    case 'conversation':
      return <Chat key={route.id} model={model} id={route.id} />;
    case 'safety':
      return (
        <SafetyNumberView key={route.username} model={model} username={route.username} from={route.from} />
      );
    case 'new-chat':
      return <NewChat model={model} />;
    case 'new-group':
      return <NewGroup model={model} />;
    case 'settings':
      return <Settings model={model} />;
    case 'home':
      return (
        <section className="empty" aria-label="Welcome">
          <h2>Welcome, {model.username}</h2>
          <p>Choose a conversation, or start a new chat or group.</p>
        </section>
      );
  }
}

function ConnectionBanner({ model }: { model: Model }) {
  useTopics(model, ['connection']);
  const state = model.connection;
  if (state === 'online') return null;
  // Once online, every later attempt is a reconnection: one steady message, no flicker.
  const text =
    state === 'connecting' && !model.wasOnline
      ? 'Connecting to the server…'
      : state === 'closed'
        ? 'Disconnected.'
        : 'Offline — reconnecting. Messages you send now wait in this browser until the connection is back.';
  return (
    <div className={`banner connection ${state}`} role="status" aria-live="polite">
      {text}
    </div>
  );
}

function GlobalAlarms({ model }: { model: Model }) {
  const version = useTopics(model, [`notes:${GLOBAL_NOTES}`]);
  const notes = useAsync(() => model.notes(GLOBAL_NOTES), [version]) ?? [];
  const alarms = notes.filter((n) => n.kind === 'alarm' && !n.dismissed);
  // A notice (messages delayed) is shown while it is recent; it is not an alarm.
  const notice = notes.filter((n) => n.kind === 'notice' && Date.now() - n.at < 5 * 60_000).at(-1);
  if (alarms.length === 0 && !notice) return null;
  return (
    <div className="alarms">
      {notice?.kind === 'notice' ? (
        <div className="banner notice" role="status">
          {notice.text}
        </div>
      ) : null}
      {alarms.map((note) =>
        note.kind === 'alarm' ? (
          <div key={note.id} className="banner alarm" role="alert">
            <strong>{alarmText(note.alarm).title}.</strong> {alarmText(note.alarm).detail}{' '}
            <button type="button" onClick={() => void model.dismissAlarm(GLOBAL_NOTES, note)}>
              Dismiss
            </button>
          </div>
        ) : null,
      )}
    </div>
  );
}

function ConversationList({ model, selected }: { model: Model; selected: string | undefined }) {
  const version = useTopics(model, ['conversations', 'contacts']);
  const conversations = useAsync(() => model.conversations(), [version]) ?? [];
  const contacts = useAsync(() => model.contacts(), [version]) ?? [];
  const names = new Map(contacts.filter((c) => c.displayName).map((c) => [c.username, c.displayName]));
  const changed = new Set(contacts.filter((c) => c.identityChangedAt > 0).map((c) => c.username));
  const listRef = useRef<HTMLUListElement>(null);
  const shown = conversations.filter((c) => c.status !== 'declined' && !c.replacedBy);
  const requests = shown.filter((c) => c.status === 'request');
  const others = shown.filter((c) => c.status !== 'request');

  // Arrow keys move between conversations; Home and End jump to the ends.
  const onKeyDown = (ev: KeyboardEvent<HTMLElement>) => {
    const found = listRef.current?.parentElement?.querySelectorAll<HTMLButtonElement>('button.conversation');
    const buttons = found ? Array.from(found) : [];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    let next = -1;
    if (ev.key === 'ArrowDown') next = Math.min(buttons.length - 1, at + 1);
    else if (ev.key === 'ArrowUp') next = Math.max(0, at - 1);
    else if (ev.key === 'Home') next = 0;
    else if (ev.key === 'End') next = buttons.length - 1;
    const target = next >= 0 ? buttons[next] : undefined;
    if (target) {
      ev.preventDefault();
      target.focus();
    }
  };

  const item = (info: ConversationInfo) => {
    const title = conversationTitle(info, names);
    const warn = info.kind === 'direct' && info.peer !== undefined && changed.has(info.peer);
    const label = [
      title,
      info.kind === 'group' ? 'group' : '',
      info.status === 'request' ? 'message request' : '',
      info.status === 'left' ? 'no longer a member' : '',
      info.unread > 0 ? `${info.unread} unread` : '',
      warn ? 'safety number changed' : '',
    ]
      .filter(Boolean)
      .join(', ');
    return (
      <li key={info.id}>
        <button
          type="button"
          className={`conversation${info.id === selected ? ' selected' : ''}${info.status === 'left' ? ' left' : ''}`}
          aria-current={info.id === selected ? 'page' : undefined}
          aria-label={label}
          onClick={() => navigate(`#/c/${info.id}`)}
        >
          <span className="title">
            {info.kind === 'group' ? '# ' : ''}
            {title}
          </span>
          {warn && (
            <span className="badge warn" aria-hidden="true">
              !
            </span>
          )}
          {info.unread > 0 && (
            <span className="badge unread" aria-hidden="true">
              {info.unread}
            </span>
          )}
        </button>
      </li>
    );
  };

  return (
    <nav className="sidebar" aria-label="Conversations" onKeyDown={onKeyDown}>
      {requests.length > 0 && (
        <>
          <h2 id="requests-heading">Message requests</h2>
          <ul aria-labelledby="requests-heading">{requests.map(item)}</ul>
        </>
      )}
      <h2 id="conversations-heading">Conversations</h2>
      <ul ref={listRef} aria-labelledby="conversations-heading">
        {others.map(item)}
      </ul>
      {shown.length === 0 && <p className="hint">No conversations yet. Start one with “New chat”.</p>}
    </nav>
  );
}
