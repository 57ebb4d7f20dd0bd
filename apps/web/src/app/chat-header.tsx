// A conversation's header: its title, the disappearing-message timer, the members panel's
// toggle and, in a direct conversation, the way to the safety number.
import type { ConversationInfo } from '@ghostproof/client/browser';
import type { Act } from './chat-hooks.js';
import type { Model } from './model.js';
import { navigate } from './navigation.js';
import { disappearingChoices } from './text.js';

export function ChatHeader(props: {
  model: Model;
  id: string;
  info: ConversationInfo;
  title: string;
  memberCount: number;
  membersOpen: boolean;
  onToggleMembers: () => void;
  act: Act;
}) {
  const { model, id, info, act } = props;
  const group = info.kind === 'group';
  return (
    <header className="chat-header">
      <h2 id="chat-title">
        {group ? '# ' : ''}
        {props.title}
      </h2>
      {group && <span className="hint">{props.memberCount} members</span>}
      {info.status === 'active' && (
        <label className="inline">
          Disappearing messages{' '}
          <select
            value={info.disappearingSeconds}
            // In a group only an admin sets the timer (members would refuse anyone else's).
            disabled={group && info.admins.length > 0 && !info.admins.includes(model.username)}
            onChange={(ev) => void act(() => model.messenger.setDisappearing(id, Number(ev.target.value)))}
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
        aria-expanded={props.membersOpen}
        aria-controls="members-panel"
        onClick={props.onToggleMembers}
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
  );
}
