// A conversation's settings: its kind, its admin list and its disappearing-message timer.
// They live in the MLS group context, in the data of Ghostproof's own extension (0xff00), so
// that they change only by a commit (a GroupContextExtensions proposal, which carries an
// update path), every member holds the same settings in the same epoch, and a joiner reads
// them from its Welcome, authenticated by the group's secrets, with nobody's word needed.
//
// Encoding (docs/protocol.md, "Conversation settings"):
//   legacy:  u8 kind                      (groups created before settings existed)
//   v1:      u8 kind ‖ u8 format=1 ‖ u32 disappearing seconds ‖ u8 admin count ‖
//            (u8 length ‖ canonical username)*, usernames strictly ascending
// The kind stays the first byte, so a client that reads only the kind keeps working.
import { ByteReader, ByteWriter, canonicalUsername } from '@ghostproof/api';
import { ProtocolError } from './errors.js';

export type ConversationKind = 'direct' | 'group';

export interface ConversationSettings {
  readonly kind: ConversationKind;
  /**
   * Canonical usernames, ascending. Empty in a 1:1 (both members may set the timer) and in a
   * group created before settings existed, until its first settings commit sets the list.
   */
  readonly admins: readonly string[];
  /** Seconds after which messages disappear; 0 = never. */
  readonly disappearingSeconds: number;
}

/** A change to settings: each field given replaces the current value. */
export interface SettingsChange {
  readonly admins?: readonly string[];
  readonly disappearingSeconds?: number;
}

export const MAX_ADMINS = 64;
/** The longest timer, as the CLI and web client offer it: 365 days. */
export const MAX_DISAPPEARING_SECONDS = 365 * 86_400;
const SETTINGS_FORMAT = 1;
const MAX_USERNAME_BYTES = 32;
/** The largest encoded settings: refused above this before anything is parsed. */
export const MAX_SETTINGS_BYTES = 1 + 1 + 4 + 1 + MAX_ADMINS * (1 + MAX_USERNAME_BYTES);

export const KIND_CODES: Record<ConversationKind, number> = { direct: 1, group: 2 };

function kindOf(code: number): ConversationKind {
  if (code === KIND_CODES.direct) return 'direct';
  if (code === KIND_CODES.group) return 'group';
  throw new ProtocolError('malformed', 'conversation settings: unknown kind');
}

/** The admin list in canonical form (case-folded, unique, ascending); refuses invalid names. */
export function normalizeAdmins(usernames: readonly string[]): string[] {
  let canonical: string[];
  try {
    canonical = usernames.map((u) => canonicalUsername(u));
  } catch (cause) {
    throw new ProtocolError('malformed', 'conversation settings: an admin is not a valid username', {
      cause,
    });
  }
  const out = [...new Set(canonical)].sort();
  if (out.length > MAX_ADMINS) throw new ProtocolError('too-large', 'conversation settings: too many admins');
  return out;
}

function checkSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_DISAPPEARING_SECONDS) {
    throw new ProtocolError('malformed', 'conversation settings: timer out of range (0 to 365 days)');
  }
  return seconds;
}

export function encodeSettings(settings: ConversationSettings): Uint8Array {
  const admins = normalizeAdmins(settings.admins);
  const writer = new ByteWriter()
    .u8(KIND_CODES[settings.kind])
    .u8(SETTINGS_FORMAT)
    .u32(checkSeconds(settings.disappearingSeconds))
    .u8(admins.length);
  for (const admin of admins) {
    const bytes = new TextEncoder().encode(admin);
    writer.u8(bytes.length).bytes(bytes);
  }
  return writer.finish();
}

/**
 * Reads the extension's data: one byte (a group created before settings) is the kind with no
 * admins and no timer yet; anything else must be a v1 structure, canonical and whole.
 */
export function decodeSettings(data: Uint8Array): ConversationSettings {
  if (data.length > MAX_SETTINGS_BYTES)
    throw new ProtocolError('too-large', 'conversation settings: too large');
  if (data.length === 0) throw new ProtocolError('malformed', 'conversation settings: empty');
  if (data.length === 1) return { kind: kindOf(data[0]!), admins: [], disappearingSeconds: 0 };
  try {
    const reader = new ByteReader(data, 'conversation settings');
    const kind = kindOf(reader.u8());
    if (reader.u8() !== SETTINGS_FORMAT)
      throw new ProtocolError('malformed', 'conversation settings: unknown format');
    const disappearingSeconds = checkSeconds(reader.u32());
    const count = reader.u8();
    if (count > MAX_ADMINS) throw new ProtocolError('too-large', 'conversation settings: too many admins');
    const admins: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = reader.u8();
      if (length > MAX_USERNAME_BYTES)
        throw new ProtocolError('malformed', 'conversation settings: admin name too long');
      admins.push(new TextDecoder('utf-8', { fatal: true }).decode(reader.bytes(length)));
    }
    reader.end();
    const canonical = normalizeAdmins(admins);
    if (canonical.length !== admins.length || canonical.some((a, i) => a !== admins[i])) {
      throw new ProtocolError('malformed', 'conversation settings: admins not canonical');
    }
    return { kind, admins, disappearingSeconds };
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    throw new ProtocolError('malformed', 'conversation settings: cannot decode', { cause });
  }
}

/** The settings after `change`, in canonical form. */
export function applySettingsChange(
  before: ConversationSettings,
  change: SettingsChange,
): ConversationSettings {
  return {
    kind: before.kind,
    admins: change.admins === undefined ? before.admins : normalizeAdmins(change.admins),
    disappearingSeconds:
      change.disappearingSeconds === undefined
        ? before.disappearingSeconds
        : checkSeconds(change.disappearingSeconds),
  };
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Who may change what (checked by the committer before it commits and by every member on
 * every commit; a violation makes the commit invalid):
 * - the kind never changes;
 * - a 1:1 has no admins, and either member may set the timer;
 * - in a group with an admin list, only an admin's device may change the list or the timer,
 *   and the list never becomes empty; a newly named admin must be a member;
 * - in a group without one (created before settings), the first settings commit sets it,
 *   naming its committer and members only. Every member processes commits in the same order, so every
 *   member agrees on which commit that was.
 */
export function settingsChangeViolation(
  before: ConversationSettings,
  after: ConversationSettings,
  committer: string,
  members: ReadonlySet<string>,
): string | undefined {
  if (after.kind !== before.kind) return 'conversation kind changed';
  const adminsChanged = !sameList(before.admins, after.admins);
  if (!adminsChanged && before.disappearingSeconds === after.disappearingSeconds) return undefined;
  if (before.kind === 'direct') return after.admins.length > 0 ? 'admins in a 1:1 conversation' : undefined;
  if (before.admins.length === 0) {
    if (!after.admins.includes(committer)) return 'first admin list must name its committer';
    return after.admins.some((a) => !members.has(a)) ? 'admin not a member' : undefined;
  }
  if (!before.admins.includes(committer)) return 'settings changed by a non-admin';
  if (after.admins.length === 0) return 'admin list emptied';
  if (after.admins.some((a) => !before.admins.includes(a) && !members.has(a))) return 'admin not a member';
  return undefined;
}

/**
 * The timer a received (or sent) message is kept under: the stricter, i.e. the shorter
 * non-zero one, of the conversation's timer and the timer the message carries. A member who
 * has not processed a timer change yet, or a sender who had not, still deletes on time.
 */
export function effectiveDisappearingSeconds(conversationSeconds: number, messageSeconds: number): number {
  if (conversationSeconds <= 0) return Math.max(0, messageSeconds);
  if (messageSeconds <= 0) return conversationSeconds;
  return Math.min(conversationSeconds, messageSeconds);
}
