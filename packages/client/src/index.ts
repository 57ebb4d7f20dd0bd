/**
 * @ghostproof/client: the SDK a Ghostproof app is built on — register and sign in, look up
 * accounts through verified device lists, 1:1 and group conversations, messages, receipts,
 * reactions, edits, attachments, message requests and alarms, over a reconnecting
 * WebSocket with a durable outbox. Runs in Node and browsers; `@ghostproof/client/node`
 * adds the SQLite store and Node's WebSocket.
 */
export { ClientError, type ClientErrorCode } from './errors.js';
export { Connection, type ConnectionState, type WebSocketFactory, type WebSocketLike } from './connection.js';
export { HttpApi, type Fetch } from './http.js';
export {
  KtDirectory,
  type IdentityChange,
  type KtAlarm,
  type KtClientState,
  type KtDirectoryOptions,
} from './kt-directory.js';
export {
  MemoryClientStore,
  type AttachmentInfo,
  type ClientStore,
  type Contact,
  type ConversationInfo,
  type ConversationStatus,
  type DeliveryState,
  type OutboxEntry,
  type StoredIdentity,
  type StoredMessage,
} from './store.js';
export {
  EXPIRY_SWEEP_MS,
  Messenger,
  SELF_UPDATE_INTERVAL_MS,
  SELF_UPDATE_MESSAGES,
  type Alarm,
  type MessengerEvents,
  type MessengerOptions,
  type UnsafeTestingDisabledDefences,
} from './messenger.js';
export { fromHex, toHex } from './bytes.js';
export { createLogger, type LogLevel, type LogRecord, type LogSink, type Logger } from './logger.js';
export { auditLog, parseAuditState, type AuditOutcome, type AuditState } from './audit.js';
