// A conversation's timeline: its messages and its roster events and notices, in the order
// they happened, with an empty last item the screen scrolls to.
import type { RefObject } from 'react';
import type { ConversationInfo, StoredMessage } from '@ghostproof/client/browser';
import type { Act } from './chat-hooks.js';
import { MessageItem } from './message-item.js';
import type { Model, Note } from './model.js';
import { rosterText } from './text.js';

type Entry =
  { kind: 'message'; at: number; message: StoredMessage } | { kind: 'note'; at: number; note: Note };

export function Timeline(props: {
  model: Model;
  info: ConversationInfo;
  messages: readonly StoredMessage[];
  notes: readonly Note[];
  nameOf: (username: string) => string;
  endRef: RefObject<HTMLLIElement | null>;
  onReply: (message: StoredMessage) => void;
  onEdit: (message: StoredMessage) => void;
  act: Act;
}) {
  const { model, info, messages, notes } = props;
  const entries: Entry[] = [
    ...messages.map((message): Entry => ({ kind: 'message', at: message.receivedAt, message })),
    ...notes
      .filter((n) => n.kind === 'roster' || n.kind === 'notice')
      .map((note): Entry => ({ kind: 'note', at: note.at, note })),
  ].sort((a, b) => a.at - b.at);
  const byId = new Map(messages.map((x) => [x.id, x]));
  return (
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
            nameOf={props.nameOf}
            onReply={() => props.onReply(entry.message)}
            onEdit={() => props.onEdit(entry.message)}
            act={props.act}
          />
        ),
      )}
      <li ref={props.endRef} className="end" aria-hidden="true" />
    </ol>
  );
}
