// Start-up: one tab per browser profile runs the account (a Web Lock), the encrypted store is
// opened, and the page either signs in with the keys it holds or offers to register.
import { useEffect, useState, type FormEvent } from 'react';
import { IndexedDbClientStore } from '@ghostproof/client/browser';
import type { Model } from './model.js';
import type * as SessionModule from './session.js';

type Boot =
  | { readonly kind: 'loading' }
  | { readonly kind: 'elsewhere' }
  | { readonly kind: 'register'; readonly store: IndexedDbClientStore }
  | { readonly kind: 'ready'; readonly model: Model; readonly session: typeof SessionModule }
  | { readonly kind: 'failed'; readonly reason: string };

/** The SDK and the signed-in page, loaded on demand (once). */
let sessionModule: Promise<typeof SessionModule> | undefined;
const loadSession = () => (sessionModule ??= import('./session.js'));

/** Holds this profile's lock for the page's lifetime; false if another tab has it. */
function lockProfile(): Promise<boolean> {
  if (!('locks' in navigator)) return Promise.resolve(true);
  return new Promise((resolve) => {
    void navigator.locks.request('ghostproof-profile', { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise<never>(() => undefined) : undefined;
    });
  });
}

/** Whether this browser has a Ghostproof database at all (asked without opening it). */
async function profileExists(): Promise<boolean> {
  try {
    return (await indexedDB.databases()).some((d) => d.name === 'ghostproof');
  } catch {
    return false;
  }
}

async function boot(): Promise<Boot> {
  if (!(await lockProfile())) return { kind: 'elsewhere' };
  // A returning person needs the SDK: fetch it while the store opens. A new visitor gets the
  // register form first, and the SDK after it (Register below).
  if (await profileExists()) void loadSession();
  const store = await IndexedDbClientStore.open();
  if (!(await store.getIdentity())) return { kind: 'register', store };
  const session = await loadSession();
  return { kind: 'ready', model: await session.openSession(store), session };
}

export function App() {
  const [state, setState] = useState<Boot>({ kind: 'loading' });
  useEffect(() => {
    boot().then(setState, () =>
      setState({
        kind: 'failed',
        reason: 'This browser’s storage could not be opened (private window or storage disabled?).',
      }),
    );
  }, []);
  switch (state.kind) {
    case 'loading':
      return (
        <main className="centered" aria-busy="true">
          <p role="status">Opening Ghostproof…</p>
        </main>
      );
    case 'elsewhere':
      return (
        <main className="centered">
          <h1>Ghostproof is open in another tab</h1>
          <p>One tab at a time uses this browser’s account. Close the other tab and reload this one.</p>
        </main>
      );
    case 'failed':
      return (
        <main className="centered">
          <h1>Ghostproof could not start</h1>
          <p role="alert">{state.reason}</p>
        </main>
      );
    case 'register':
      return <Register store={state.store} onRegistered={setState} />;
    case 'ready':
      return <state.session.Shell model={state.model} />;
  }
}

function Register(props: { store: IndexedDbClientStore; onRegistered: (state: Boot) => void }) {
  const [username, setUsername] = useState('');
  const [invite, setInvite] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  // The rest of the client is fetched once the form is on screen, while the person types.
  useEffect(() => {
    void loadSession();
  }, []);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError('');
    try {
      const session = await loadSession();
      const outcome = await session.registerSession(props.store, username.trim(), invite.trim());
      if ('model' in outcome) {
        props.onRegistered({ kind: 'ready', model: outcome.model, session });
        return;
      }
      setError(outcome.error);
    } catch {
      setError('Ghostproof could not load: check the connection and reload.');
    }
    setBusy(false);
  };
  return (
    <main className="centered">
      <h1>Ghostproof</h1>
      <p>
        End-to-end encrypted messages. Your account lives in this browser: its keys are made here, kept
        encrypted in this browser’s storage, and never sent anywhere. There is no password: opening this page
        in this browser signs you in.
      </p>
      <form className="register" onSubmit={(ev) => void submit(ev)} aria-label="Create an account">
        <label htmlFor="register-username">Username</label>
        <input
          id="register-username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          minLength={3}
          maxLength={32}
          pattern="[A-Za-z0-9._\-]{3,32}"
          value={username}
          onChange={(ev) => setUsername(ev.target.value)}
          aria-describedby="register-hint"
        />
        <p id="register-hint" className="hint">
          3–32 letters, digits, dots, dashes or underscores. Others find you by it.
        </p>
        <label htmlFor="register-invite">Invite code (if this server needs one)</label>
        <input
          id="register-invite"
          name="invite"
          autoComplete="off"
          value={invite}
          onChange={(ev) => setInvite(ev.target.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Creating keys…' : 'Create account'}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
