// Starting a chat or a group, and the settings page (profile name, notifications, what this
// browser stores).
import { useState, type FormEvent } from 'react';
import type { Model } from './model.js';
import { navigate } from './navigation.js';
import { errorText } from './text.js';

function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = async (action: () => Promise<void>) => {
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
  return { busy, error, run };
}

const usernamesOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((u) => u.trim().toLowerCase())
    .filter(Boolean);

export function NewChat({ model }: { model: Model }) {
  const [username, setUsername] = useState('');
  const { busy, error, run } = useAction();
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    void run(async () => {
      const id = await model.messenger.direct(username.trim().toLowerCase());
      navigate(`#/c/${id}`);
    });
  };
  return (
    <section aria-labelledby="new-chat-title" className="form-page">
      <h2 id="new-chat-title">New chat</h2>
      <form onSubmit={submit}>
        <label htmlFor="new-chat-username">Username</label>
        <input
          id="new-chat-username"
          autoFocus
          required
          value={username}
          onChange={(ev) => setUsername(ev.target.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Start chat'}
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function NewGroup({ model }: { model: Model }) {
  const [name, setName] = useState('');
  const [members, setMembers] = useState('');
  const { busy, error, run } = useAction();
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    void run(async () => {
      const id = await model.messenger.createGroup(name.trim(), usernamesOf(members));
      navigate(`#/c/${id}`);
    });
  };
  return (
    <section aria-labelledby="new-group-title" className="form-page">
      <h2 id="new-group-title">New group</h2>
      <p className="hint">
        The group’s name is encrypted: the server never sees it. Members are added from their signed device
        lists; an account that cannot be added is named, never skipped.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="new-group-name">Group name</label>
        <input
          id="new-group-name"
          autoFocus
          required
          maxLength={200}
          value={name}
          onChange={(ev) => setName(ev.target.value)}
        />
        <label htmlFor="new-group-members">Members (usernames, separated by commas)</label>
        <input id="new-group-members" value={members} onChange={(ev) => setMembers(ev.target.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create group'}
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function Settings({ model }: { model: Model }) {
  const [displayName, setDisplayName] = useState('');
  const [saved, setSaved] = useState(false);
  const [permission, setPermission] = useState(() =>
    typeof Notification === 'undefined' ? 'unsupported' : Notification.permission,
  );
  const { busy, error, run } = useAction();
  const saveProfile = (ev: FormEvent) => {
    ev.preventDefault();
    void run(async () => {
      await model.messenger.setProfileName(displayName.trim());
      setSaved(true);
    });
  };
  return (
    <section aria-labelledby="settings-title" className="form-page">
      <h2 id="settings-title">Settings</h2>
      <h3>Profile</h3>
      <form onSubmit={saveProfile}>
        <label htmlFor="profile-name">Display name (sent encrypted to your conversations)</label>
        <input
          id="profile-name"
          maxLength={100}
          value={displayName}
          onChange={(ev) => {
            setSaved(false);
            setDisplayName(ev.target.value);
          }}
        />
        <button type="submit" disabled={busy}>
          Save
        </button>
        {saved && <span role="status"> Sent to your conversations.</span>}
      </form>
      <h3>Notifications</h3>
      {permission === 'unsupported' ? (
        <p>This browser does not offer desktop notifications.</p>
      ) : permission === 'granted' ? (
        <p>Desktop notifications are on. They name the sender, never the message.</p>
      ) : permission === 'denied' ? (
        <p>Desktop notifications are blocked in this browser’s site settings.</p>
      ) : (
        <button
          type="button"
          onClick={() => void Notification.requestPermission().then((p) => setPermission(p))}
        >
          Enable desktop notifications
        </button>
      )}
      <h3>This browser</h3>
      <p>
        Account <strong>{model.username}</strong>, device {model.messenger.deviceId}, on {location.origin}.
      </p>
      <p>
        Your keys, conversations and messages are kept in this browser’s IndexedDB, every record encrypted
        under a key the browser will not let any script read. Clearing this site’s data deletes the account
        from this browser for good.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
