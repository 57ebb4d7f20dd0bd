/**
 * @ghostproof/client for Node: the SQLite store (encrypted at rest) and a WebSocket factory
 * on the `ws` package (Node 20 has no global WebSocket).
 */
import WebSocket from 'ws';
import type { WebSocketFactory, WebSocketLike } from './connection.js';
import { Messenger, type MessengerOptions } from './messenger.js';
import { SqliteClientStore } from './node/sqlite-store.js';

export * from './index.js';
export { SqliteClientStore } from './node/sqlite-store.js';

export const nodeWebSocket: WebSocketFactory = (url) => new WebSocket(url) as unknown as WebSocketLike;

/** Options for a profile directory on disk against one server. */
export function nodeMessengerOptions(
  profileDir: string,
  serverUrl: string,
  extra: Partial<MessengerOptions> = {},
): MessengerOptions {
  return { serverUrl, store: SqliteClientStore.open(profileDir), createSocket: nodeWebSocket, ...extra };
}

export { Messenger };
