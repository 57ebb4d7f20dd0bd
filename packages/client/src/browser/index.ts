/**
 * @ghostproof/client for browsers: the IndexedDB store (every record sealed under a
 * non-extractable WebCrypto key), a fetch that uploads attachments over HTTP/1.1, and the
 * page's WebSocket.
 */
import type { WebSocketFactory, WebSocketLike } from '../connection.js';
import type { MessengerOptions } from '../messenger.js';
import type { ClientStore } from '../store.js';
import { browserFetch, type BrowserFetchOptions } from './fetch.js';

export * from '../index.js';
export { IndexedDbClientStore, type IndexedDbStoreOptions, type StoreChange } from './indexeddb-store.js';
export { browserFetch, type BrowserFetchOptions } from './fetch.js';

export const browserWebSocket: WebSocketFactory = (url) => new WebSocket(url) as unknown as WebSocketLike;

/** Options for a Messenger in this page against `serverUrl` (usually the page's origin). */
export function browserMessengerOptions(
  serverUrl: string,
  store: ClientStore,
  extra: Partial<MessengerOptions> & { fetchOptions?: BrowserFetchOptions } = {},
): MessengerOptions {
  const { fetchOptions, ...rest } = extra;
  return {
    serverUrl,
    store,
    createSocket: browserWebSocket,
    fetch: browserFetch(fetchOptions),
    ...rest,
  };
}
