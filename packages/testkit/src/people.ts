// People for a test: a Messenger (the real client SDK, Node WebSocket, a store of its own)
// registered with one device against a server and connected.
import { MemoryClientStore, Messenger, type ClientStore, type MessengerOptions } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';

/** A Messenger's options for `url`, with `store` (default: a new memory store). */
export function messengerOptions(
  url: string,
  store: ClientStore = new MemoryClientStore(),
  extra: Partial<MessengerOptions> = {},
): MessengerOptions {
  return { serverUrl: url, store, createSocket: nodeWebSocket, ...extra };
}

/** Registers `username` (its first device, a memory store) at the server at `url` and connects. */
export async function registerPerson(
  url: string,
  username: string,
  extra: Partial<MessengerOptions> = {},
): Promise<Messenger> {
  const messenger = await Messenger.register(messengerOptions(url, new MemoryClientStore(), extra), username);
  await messenger.connect();
  return messenger;
}
