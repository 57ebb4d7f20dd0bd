// The conversation settings as the MLS group context holds them (docs/protocol.md,
// "Conversation settings"): read from Ghostproof's extension, compared before and after a
// commit, and checked in a GroupContextExtensions proposal before anyone applies it.
import type { GroupContextExtension } from 'ts-mls';
import {
  decodeSettings,
  settingsChangeViolation,
  type ConversationKind,
  type ConversationSettings,
} from './conversation-settings.js';
import type { RosterEvent } from './conversation-types.js';
import type { DeviceAddress } from './credential.js';
import { CONVERSATION_EXTENSION } from './key-packages.js';

/**
 * The conversation settings a group context holds. A group context without Ghostproof's
 * extension (not made by this code) has no admins and no timer.
 */
export function settingsOf(
  extensions: readonly GroupContextExtension[],
  fallbackKind: ConversationKind,
): ConversationSettings {
  const extension = extensions.find((e) => e.extensionType === CONVERSATION_EXTENSION);
  const data = extension && 'extensionData' in extension ? extension.extensionData : undefined;
  if (!(data instanceof Uint8Array)) return { kind: fallbackKind, admins: [], disappearingSeconds: 0 };
  return decodeSettings(data);
}

/** The conversation settings extension, alone: the only group context Ghostproof makes. */
function settingsExtensionData(extensions: readonly GroupContextExtension[]): Uint8Array | undefined {
  const only = extensions.length === 1 ? extensions[0] : undefined;
  if (!only || only.extensionType !== CONVERSATION_EXTENSION || !('extensionData' in only)) return undefined;
  return only.extensionData instanceof Uint8Array ? only.extensionData : undefined;
}

/** What a settings commit changed, attributed to its committer (no event when nothing did). */
export function settingsEvents(
  before: ConversationSettings,
  after: ConversationSettings,
  by: DeviceAddress,
): RosterEvent[] {
  const adminsChanged =
    before.admins.length !== after.admins.length || before.admins.some((a, i) => a !== after.admins[i]);
  const timerChanged = before.disappearingSeconds !== after.disappearingSeconds;
  if (!adminsChanged && !timerChanged) return [];
  return [
    {
      kind: 'settings-changed',
      by,
      ...(adminsChanged ? { admins: [...after.admins] } : {}),
      ...(timerChanged ? { disappearingSeconds: after.disappearingSeconds } : {}),
    },
  ];
}

/**
 * A GroupContextExtensions proposal may only replace the conversation settings extension,
 * with well-formed settings, as settingsChangeViolation allows for its committer. Checked
 * against the current (pre-commit) group context, `current`.
 */
export function settingsProposalViolation(
  current: readonly GroupContextExtension[],
  proposed: readonly GroupContextExtension[],
  committer: string,
  members: ReadonlySet<string>,
): string | undefined {
  const currentData = settingsExtensionData(current);
  const next = settingsExtensionData(proposed);
  if (!currentData || !next) return 'group context extensions other than the conversation settings';
  let before: ConversationSettings;
  let after: ConversationSettings;
  try {
    before = decodeSettings(currentData);
    after = decodeSettings(next);
  } catch {
    return 'malformed conversation settings';
  }
  return settingsChangeViolation(before, after, committer, members);
}
