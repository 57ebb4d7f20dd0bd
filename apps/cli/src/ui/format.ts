// Words for what the SDK reports: times, roster changes and alarms. Alarms say what a person
// should conclude, since each one means the server (or someone) misbehaved.
import type { Alarm, MessengerEvents } from '@ghostproof/client';

export type RosterEvent = MessengerEvents['roster']['events'][number];

export function formatTime(ms: number, now = Date.now()): string {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (new Date(now).toDateString() === date.toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

export function formatDuration(seconds: number): string {
  if (seconds === 0) return 'off';
  for (const [unit, size] of [
    ['w', 604_800],
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

export function describeRosterEvent(event: RosterEvent): string {
  switch (event.kind) {
    case 'member-added':
      return `${event.by.username} added ${event.username}`;
    case 'device-added':
      return `${event.username} linked a new device (${event.deviceId})`;
    case 'member-removed':
      return `${event.by.username} removed ${event.username}`;
    case 'member-left':
      return `${event.username} left`;
    case 'device-removed':
      return `${event.username}'s device ${event.deviceId} was removed`;
    case 'you-were-removed':
      return `${event.by.username} removed you`;
    case 'you-left':
      return 'you left';
    case 'settings-changed': {
      const changes = [
        ...(event.admins ? [`set the admins to ${event.admins.join(', ')}`] : []),
        ...(event.disappearingSeconds === undefined
          ? []
          : [
              event.disappearingSeconds === 0
                ? 'turned disappearing messages off'
                : `set messages to disappear after ${formatDuration(event.disappearingSeconds)}`,
            ]),
      ];
      return `${event.by.username} ${changes.join(' and ')}`;
    }
  }
}

export function describeAlarm(alarm: Alarm): string {
  switch (alarm.kind) {
    case 'invalid-commit':
      return 'a membership change could not be verified; the group is being re-created';
    case 'fork':
      return 'members were shown different histories of this conversation (possible server attack)';
    case 'gap':
      return 'a message is missing or could not be decrypted (withheld or tampered with)';
    case 'tampered':
      return 'a message was tampered with';
    case 'replay':
      return 'a message was replayed';
    case 'too-far-ahead':
      return 'a message claimed to be far ahead of its sender’s others and was refused (tampered with or forged)';
    case 'rejected-credential':
      return 'a participant’s key does not match their verified device list (possible key substitution)';
    case 'reset-refused': {
      const why = [
        alarm.previousWasBroken ? '' : 'the conversation it replaces is fine here',
        alarm.newcomers.length > 0 ? `it brings in ${alarm.newcomers.join(', ')}` : '',
        alarm.missing.length > 0 ? `it leaves out ${alarm.missing.join(', ')}` : '',
      ].filter(Boolean);
      return `a conversation announced as the re-creation of another is not the same (${why.join('; ')}): not taken as its replacement`;
    }
    case 'conflicting-welcome':
      return 'an invitation tried to replace a conversation you are in, or to bring back an old one (possible server attack); it was refused';
    case 'split-view':
      return 'the key transparency log shows you a different history than others see (possible targeted attack)';
    case 'unknown-device':
      return `a device you did not link was added to your account (key transparency version ${alarm.version})`;
    case 'kt-keys-changed':
      return 'the server’s key transparency keys changed since you registered';
    case 'kt-proof-invalid':
      return `the key transparency proof for ${alarm.username} does not verify (possible key substitution)`;
    case 'routing-mismatch': {
      const extra = alarm.extra.map((d) => `${d.username}/${d.deviceId}`).join(', ');
      const missing = alarm.missing.map((d) => `${d.username}/${d.deviceId}`).join(', ');
      return [
        'the server’s delivery list does not match the members',
        extra ? `extra mailboxes (possible ghost): ${extra}` : '',
        missing ? `members not delivered to: ${missing}` : '',
      ]
        .filter(Boolean)
        .join('; ');
    }
  }
}
