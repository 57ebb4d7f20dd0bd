// What the page says: roster events as derived from commits, alarms, errors and delivery
// states, in one place so that the wording is consistent and testable.
import { ApiError } from '@ghostproof/api';
import {
  ClientError,
  type Alarm,
  type ConversationInfo,
  type StoredMessage,
} from '@ghostproof/client/browser';
import { ProtocolError, type RosterEvent } from '@ghostproof/protocol';

/** "alice added carol": the roster event exactly as the commit says, names as they are. */
export function rosterText(event: RosterEvent): string {
  switch (event.kind) {
    case 'member-added':
      return `${event.by.username} added ${event.username}`;
    case 'device-added':
      return event.by.username === event.username
        ? `${event.username} linked a new device`
        : `${event.by.username} added a device of ${event.username}`;
    case 'member-removed':
      return `${event.by.username} removed ${event.username}`;
    case 'member-left':
      return `${event.username} left`;
    case 'device-removed':
      return `${event.by.username} removed device ${event.deviceId} of ${event.username}`;
    case 'you-were-removed':
      return `${event.by.username} removed you`;
    case 'you-left':
      return 'You left';
    case 'settings-changed': {
      const changes = [
        ...(event.admins ? [`set the admins to ${event.admins.join(', ')}`] : []),
        ...(event.disappearingSeconds === undefined
          ? []
          : [
              event.disappearingSeconds === 0
                ? 'turned disappearing messages off'
                : `set messages to disappear after ${durationText(event.disappearingSeconds)}`,
            ]),
      ];
      return `${event.by.username} ${changes.join(' and ')}`;
    }
  }
}

/** "5 minutes": a timer's choice label where there is one, else seconds. */
function durationText(seconds: number): string {
  const choice = disappearingChoices.find((c) => c.seconds === seconds);
  return choice ? choice.label.toLowerCase() : `${seconds} seconds`;
}

const devices = (list: readonly { username: string; deviceId: number }[]) =>
  list.map((d) => `${d.username} (device ${d.deviceId})`).join(', ');

/** A headline and an explanation for each protocol alarm (docs/protocol.md, "Alarms"). */
export function alarmText(alarm: Alarm): { title: string; detail: string } {
  switch (alarm.kind) {
    case 'invalid-commit':
      return {
        title: 'This conversation received a change no member could have made',
        detail:
          'A membership change (commit) was invalid. The conversation is being restarted with the same members.',
      };
    case 'fork':
      return {
        title: 'The server showed members different histories',
        detail:
          'Two versions of this conversation exist (a fork). Messages may not reach everyone; compare the group with the other members.',
      };
    case 'gap':
      return {
        title: 'Messages are missing',
        detail:
          'A message could not be decrypted or a sequence number was skipped: the server may be withholding messages.',
      };
    case 'tampered':
      return {
        title: 'A message was tampered with',
        detail: 'A message failed its integrity check and was dropped.',
      };
    case 'replay':
      return {
        title: 'A message was replayed',
        detail: 'A message that was already received arrived again with a used key and was dropped.',
      };
    case 'too-far-ahead':
      return {
        title: 'A message was refused',
        detail: 'A message claimed to come far ahead of its sender’s other messages and was dropped.',
      };
    case 'rejected-credential':
      return {
        title: 'A device could not be verified',
        detail:
          'A member device’s key does not match its account’s signed device list. Its message or invitation was refused.',
      };
    case 'reset-refused': {
      const why = [
        alarm.previousWasBroken ? '' : 'the conversation it replaces still works here',
        alarm.newcomers.length > 0 ? `it also holds ${alarm.newcomers.join(', ')}` : '',
        alarm.missing.length > 0 ? `it leaves out ${alarm.missing.join(', ')}` : '',
      ].filter(Boolean);
      return {
        title: 'A re-created conversation is not the same one',
        detail: `A member announced a new conversation as the replacement of one that could not continue, but ${why.join(', and ')}. It is kept apart as a request, not taken as the replacement.`,
      };
    }
    case 'conflicting-welcome':
      return {
        title: 'An invitation tried to take over a conversation',
        detail:
          'An invitation named a conversation you are already in, or an older copy of one you left. Accepting it would have let someone in without the members’ commits, so it was refused.',
      };
    case 'routing-mismatch': {
      const parts: string[] = [];
      if (alarm.extra.length > 0)
        parts.push(`The server also delivers to ${devices(alarm.extra)}, not on the roster.`);
      if (alarm.missing.length > 0) parts.push(`The server does not deliver to ${devices(alarm.missing)}.`);
      return {
        title: 'The server’s delivery list does not match the members',
        detail: parts.join(' '),
      };
    }
    case 'split-view':
      return {
        title: 'The server showed you a different key log than it shows others',
        detail:
          'Two signed checkpoints of the key transparency log contradict each other (a split view). Both are kept as evidence.',
      };
    case 'unknown-device':
      return {
        title: 'A device you did not link appeared on your account',
        detail: `Version ${alarm.version} of your account’s device list, as the key transparency log shows it, holds a device this browser did not add. Whoever controls the server may be trying to read your messages.`,
      };
    case 'kt-keys-changed':
      return {
        title: 'The server’s key transparency keys changed',
        detail: 'The log keys pinned when you registered are no longer the ones served. Lookups are refused.',
      };
    case 'kt-proof-invalid':
      return {
        title: `The server’s proof of ${alarm.username}’s keys does not verify`,
        detail: 'The keys it offered were not used.',
      };
    default:
      return {
        title: 'Security alarm',
        detail: `The client raised an alarm (${(alarm as { kind: string }).kind}).`,
      };
  }
}

const clientErrors: Record<string, string> = {
  'not-registered': 'This browser has no account yet.',
  'already-registered': 'This browser already has an account.',
  offline: 'You are offline. It will be sent when the connection is back.',
  'unknown-user': 'No such account.',
  'unknown-conversation': 'That conversation is not available.',
  blocked: 'You blocked this account.',
  'identity-changed': 'A verified contact’s safety number changed: acknowledge it before sending.',
  'missing-key-packages': 'An account has no device that can be added right now.',
  'retry-exhausted': 'The change could not be made: try again.',
  'attachment-corrupted': 'The attachment does not match what was sent and was not opened.',
  closed: 'The connection is closed.',
  'verification-pending':
    'A change to this conversation is waiting until its keys can be checked. Not sent: try again shortly.',
};

const apiErrors: Record<string, string> = {
  'invalid-username': 'Usernames are 3–32 characters: letters, digits, dot, dash, underscore.',
  'reserved-username': 'That username is reserved.',
  'username-taken': 'That username is taken.',
  'invite-required': 'This server needs an invite code.',
  'too-large': 'That is too large for this server.',
  'rate-limited': 'Too many requests: wait a moment.',
  unavailable: 'The server is busy: try again shortly.',
  'not-found': 'Not found.',
  forbidden: 'Not allowed.',
};

const protocolErrors: Record<string, string> = {
  'nonconforming-mls':
    'This copy of Ghostproof was built without its security patch for the MLS library and will not run. Whoever serves it must rebuild it from a normal install.',
  'directory-unavailable': 'Keys cannot be checked right now: try again shortly.',
};

/** Messages of `username` that never arrived (withheld by the server, or lost). */
export function missingMessageText(username: string, count: number): string {
  return `${count === 1 ? 'A message' : `${count} messages`} from ${username} never arrived. The server may be holding ${count === 1 ? 'it' : 'them'} back.`;
}

export function deliveryDelayedText(): string {
  return 'Messages are delayed: a change in a conversation is waiting until its keys can be checked. The app keeps trying.';
}

/** A message for people; never includes the error's own text (which may hold input). */
export function errorText(err: unknown): string {
  if (err instanceof ClientError) return clientErrors[err.code] ?? 'Something went wrong.';
  if (err instanceof ProtocolError) return protocolErrors[err.code] ?? 'Something went wrong.';
  if (err instanceof ApiError) return apiErrors[err.code] ?? `The server refused it (${err.code}).`;
  return 'Something went wrong.';
}

export function deliveryText(message: StoredMessage, group: boolean): string {
  switch (message.state) {
    case 'sending':
      return 'Sending…';
    case 'sent':
      return 'Sent';
    case 'delivered':
      return group ? `Delivered to ${message.deliveredTo.join(', ')}` : 'Delivered';
    case 'read':
      return group ? `Read by ${message.readTo.join(', ')}` : 'Read';
    case 'received':
      return '';
  }
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export const disappearingChoices: readonly { seconds: number; label: string }[] = [
  { seconds: 0, label: 'Off' },
  { seconds: 30, label: '30 seconds' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 604800, label: '1 week' },
];

/** A display name is chosen by its owner: the username, which safety numbers bind, is always shown. */
export function personName(username: string, names: ReadonlyMap<string, string>): string {
  const name = names.get(username);
  return name ? `${name} (${username})` : username;
}

export function conversationTitle(info: ConversationInfo, names: ReadonlyMap<string, string>): string {
  if (info.kind === 'group') return info.name || 'Unnamed group';
  return personName(info.peer ?? '', names);
}
