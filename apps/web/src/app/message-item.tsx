// One message in the timeline: sender, time, expiry, the message it replies to, its text or
// attachment, reactions, delivery state, and the actions on it (reply, react, edit, delete).
import { useState } from 'react';
import type { ConversationInfo, StoredMessage } from '@ghostproof/client/browser';
import { AttachmentView } from './attachment.js';
import type { Act } from './chat-hooks.js';
import type { Model } from './model.js';
import { deliveryText, formatTime } from './text.js';

const REACTIONS = ['👍', '❤️', '😂'] as const;

export function MessageItem(props: {
  model: Model;
  conversation: ConversationInfo;
  message: StoredMessage;
  original: StoredMessage | undefined;
  nameOf: (username: string) => string;
  onReply: () => void;
  onEdit: () => void;
  act: Act;
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
