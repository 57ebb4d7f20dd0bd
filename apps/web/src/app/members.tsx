// The members panel: who is in the conversation as the processed commits say (names, devices,
// admins), with adding, removing, renaming and leaving for a group.
import { useState, type FormEvent } from 'react';
import type { Contact, ConversationInfo } from '@ghostproof/client/browser';
import type { Member } from '@ghostproof/protocol';
import type { Model } from './model.js';
import { navigate } from './navigation.js';
import { errorText } from './text.js';

export function Members(props: {
  model: Model;
  info: ConversationInfo;
  members: readonly Member[];
  contacts: readonly Contact[];
}) {
  const { model, info, members, contacts } = props;
  const m = model.messenger;
  const [adding, setAdding] = useState('');
  const [name, setName] = useState(info.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const group = info.kind === 'group';
  const active = info.status === 'active';
  const admin = info.admins.includes(model.username);

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError('');
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const add = (ev: FormEvent) => {
    ev.preventDefault();
    const usernames = adding
      .split(/[\s,]+/)
      .map((u) => u.trim().toLowerCase())
      .filter(Boolean);
    if (usernames.length === 0) return;
    void act(async () => {
      await m.addMembers(info.id, usernames);
      setAdding('');
    });
  };

  return (
    <aside id="members-panel" className="members" aria-label="Members">
      <h3>Members</h3>
      <ul>
        {members.map((member) => {
          const contact = contacts.find((c) => c.username === member.username);
          const me = member.username === model.username;
          return (
            <li key={member.username} className="member">
              <span className="member-name">
                {contact?.displayName ? `${contact.displayName} ` : ''}
                <span className="username">@{member.username}</span>
                {me && ' (you)'}
              </span>
              {info.admins.includes(member.username) && <span className="badge admin">admin</span>}
              {contact?.verified && <span className="badge verified">verified</span>}
              <span className="hint">
                {member.deviceIds.length} {member.deviceIds.length === 1 ? 'device' : 'devices'}
              </span>
              {!me && (
                <button
                  type="button"
                  onClick={() => navigate(`#/safety/${encodeURIComponent(member.username)}/${info.id}`)}
                  aria-label={`Safety number with ${member.username}`}
                >
                  Safety number
                </button>
              )}
              {group && active && admin && !me && !info.admins.includes(member.username) && (
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => void act(() => m.setAdmins(info.id, [...info.admins, member.username]))}
                  aria-label={`Make ${member.username} an admin`}
                >
                  Make admin
                </button>
              )}
              {group && active && admin && !me && (
                <button
                  type="button"
                  className="danger"
                  disabled={busy}
                  onClick={() => void act(() => m.removeMember(info.id, member.username))}
                  aria-label={`Remove ${member.username}`}
                >
                  Remove
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {group && active && admin && (
        <>
          <form onSubmit={add} aria-label="Add members">
            <label htmlFor="add-members">Add members (usernames)</label>
            <input id="add-members" value={adding} onChange={(ev) => setAdding(ev.target.value)} />
            <button type="submit" disabled={busy}>
              Add
            </button>
          </form>
          <form
            aria-label="Rename group"
            onSubmit={(ev) => {
              ev.preventDefault();
              void act(() => m.setGroupName(info.id, name.trim()));
            }}
          >
            <label htmlFor="group-name">Group name</label>
            <input id="group-name" value={name} maxLength={200} onChange={(ev) => setName(ev.target.value)} />
            <button type="submit" disabled={busy}>
              Rename
            </button>
          </form>
        </>
      )}
      {group && active && (
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() =>
            void act(async () => {
              await m.leave(info.id);
            })
          }
        >
          Leave group
        </button>
      )}
      {busy && <p role="status">Working…</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </aside>
  );
}
