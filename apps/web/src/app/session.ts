// Everything past the first screen: the SDK (protocol, MLS, crypto), the model and the
// signed-in page. app.tsx loads this module on demand, so that a new visitor's register form
// needs only React and the store; the rest arrives while they type.
import { browserMessengerOptions, Messenger, type IndexedDbClientStore } from '@ghostproof/client/browser';
import { Model } from './model.js';
import { errorText } from './text.js';

export { Shell } from './shell.js';

/** Lets the page's fetch reach the model, which exists only after the Messenger does. */
interface Holder {
  model: Model | undefined;
}

function options(store: IndexedDbClientStore, hold: Holder) {
  return browserMessengerOptions(location.origin, store, {
    fetchOptions: { onUploadProgress: (sent, total) => hold.model?.uploadProgress?.(sent, total) },
  });
}

function start(messenger: Messenger, store: IndexedDbClientStore, hold: Holder): Model {
  // The account exists only in this browser: ask it not to evict the storage under pressure
  // (best effort; browsers decide, and a refusal changes nothing else).
  navigator.storage?.persist?.().catch(() => undefined);
  const model = new Model(messenger, store);
  hold.model = model;
  // Resolves when online; the page works offline meanwhile and shows the connection state.
  messenger.connect().catch(() => undefined);
  return model;
}

/** Signs in with the account this browser holds. */
export async function openSession(store: IndexedDbClientStore): Promise<Model> {
  const hold: Holder = { model: undefined };
  return start(await Messenger.open(options(store, hold)), store, hold);
}

/** Creates the account (keys made here) and signs in; failures come back as text for people. */
export async function registerSession(
  store: IndexedDbClientStore,
  username: string,
  inviteCode: string,
): Promise<{ model: Model } | { error: string }> {
  const hold: Holder = { model: undefined };
  try {
    const messenger = await Messenger.register(options(store, hold), username, inviteCode);
    return { model: start(messenger, store, hold) };
  } catch (err) {
    return { error: errorText(err) };
  }
}
