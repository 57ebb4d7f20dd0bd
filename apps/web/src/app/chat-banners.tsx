// The banners above a conversation's timeline: a member's changed identity key, the alarms
// not yet dismissed, a message request to accept or decline, having left, and the last error.
import type { Contact, ConversationInfo } from '@ghostproof/client/browser';
import type { Act } from './chat-hooks.js';
import type { Model, Note } from './model.js';
import { navigate } from './navigation.js';
import { alarmText } from './text.js';

export function ChatBanners(props: {
  model: Model;
  id: string;
  info: ConversationInfo;
  changedContacts: readonly Contact[];
  alarms: readonly Extract<Note, { kind: 'alarm' }>[];
  error: string;
  act: Act;
}) {
  const { model, id, info } = props;
  return (
    <>
      {props.changedContacts.map((c) => (
        <IdentityBanner key={c.username} model={model} contact={c} conversationId={id} />
      ))}
      {props.alarms.map((note) => (
        <div key={note.id} className="banner alarm" role="alert">
          <strong>{alarmText(note.alarm).title}.</strong> {alarmText(note.alarm).detail}{' '}
          <button type="button" onClick={() => void model.dismissAlarm(id, note)}>
            Dismiss
          </button>
        </div>
      ))}
      {info.status === 'request' && <RequestBar model={model} info={info} act={props.act} />}
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
      {props.error && (
        <p className="banner error" role="alert">
          {props.error}
        </p>
      )}
    </>
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

function RequestBar(props: { model: Model; info: ConversationInfo; act: Act }) {
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
