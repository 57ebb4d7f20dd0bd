// One conversation: its banners (identity changes, alarms, a message request), the timeline of
// messages and roster events, the typing indicator, the members panel and the composer. The
// pieces live beside it (chat-header, chat-banners, timeline, typing, composer); what keeps the
// screen current is in chat-hooks.
import { useState } from 'react';
import type { StoredMessage } from '@ghostproof/client/browser';
import { ChatBanners } from './chat-banners.js';
import { ChatHeader } from './chat-header.js';
import {
  useActionError,
  useConversationData,
  useIdentityRefresh,
  useReadReceipts,
  useScrollToEnd,
} from './chat-hooks.js';
import { Composer } from './composer.js';
import { Members } from './members.js';
import type { Model, Note } from './model.js';
import { conversationTitle, personName } from './text.js';
import { Timeline } from './timeline.js';
import { TypingIndicator } from './typing.js';

export function Chat({ model, id }: { model: Model; id: string }) {
  const { info, messages, notes, members, contacts } = useConversationData(model, id);
  const [membersOpen, setMembersOpen] = useState(false);
  const [replyTo, setReplyTo] = useState<StoredMessage | undefined>(undefined);
  const [editing, setEditing] = useState<StoredMessage | undefined>(undefined);
  const { error, setError, act } = useActionError();
  useIdentityRefresh(model, members);
  useReadReceipts(model, id, info);
  const endRef = useScrollToEnd(messages.length + notes.length);

  if (!info) {
    return (
      <section className="chat" aria-busy="true">
        <p role="status">Opening conversation…</p>
      </section>
    );
  }

  const names = new Map(contacts.filter((c) => c.displayName).map((c) => [c.username, c.displayName]));
  const others = members.map((x) => x.username).filter((u) => u !== model.username);
  const changedContacts = contacts.filter(
    (c) => c.identityChangedAt > 0 && (others.includes(c.username) || c.username === info.peer),
  );
  const alarms = notes.filter(
    (n): n is Extract<Note, { kind: 'alarm' }> => n.kind === 'alarm' && !n.dismissed,
  );
  const nameOf = (username: string) => personName(username, names);
  const focusComposer = () => document.getElementById('composer-text')?.focus();

  return (
    <section className="chat" aria-labelledby="chat-title">
      <ChatHeader
        model={model}
        id={id}
        info={info}
        title={conversationTitle(info, names)}
        memberCount={members.length}
        membersOpen={membersOpen}
        onToggleMembers={() => setMembersOpen((open) => !open)}
        act={act}
      />
      <ChatBanners
        model={model}
        id={id}
        info={info}
        changedContacts={changedContacts}
        alarms={alarms}
        error={error}
        act={act}
      />

      <div className="chat-body">
        <Timeline
          model={model}
          info={info}
          messages={messages}
          notes={notes}
          nameOf={nameOf}
          endRef={endRef}
          onReply={(message) => {
            setEditing(undefined);
            setReplyTo(message);
            focusComposer();
          }}
          onEdit={(message) => {
            setReplyTo(undefined);
            setEditing(message);
            focusComposer();
          }}
          act={act}
        />
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
