// Messages withheld inside an epoch. MLS numbers each sender's application messages in an
// epoch (the generation of its ratchet), so a receiver sees a skipped number; out-of-order
// delivery fills it soon, a server that withholds the message never does. A skipped range
// not filled within MISSING_AFTER_MS is reported once. The tail of an epoch (the last
// messages a sender sent before a commit) leaves no skipped number behind, so each sender
// states in its messages of an epoch how many it sent in the last earlier epoch it sent in;
// a receiver that got fewer records the rest as missing. Everything here is kept in the
// conversation's saved metadata (plain JSON, bounded).
import type { DeviceAddress } from './credential.js';

/** How long a skipped generation may wait for out-of-order delivery before it is reported. */
export const MISSING_AFTER_MS = 60_000;
/** Statements about epochs further back than this are not tracked (nor checked). */
const TRACKED_EPOCHS = 8n;
/** At most this many missing ranges are kept, and at most PER_SENDER of one sender's. */
const MAX_RANGES = 256;
const PER_SENDER = 32;
/** A statement of more messages than a ratchet may skip is taken as that many. */
const MAX_STATED = 1000;

interface MissingRange {
  epoch: string;
  leaf: number;
  username: string;
  deviceId: number;
  /** Generations from..to-1 were not received. */
  from: number;
  to: number;
  /** When they were first seen missing (the conversation's clock). */
  since: number;
  reported: boolean;
}

/** The saved form (part of the conversation record's metadata). */
export interface MissingMessagesRecord {
  /** The epoch this device joined at: statements about earlier epochs are none of its business. */
  joinedEpoch: string;
  /** This device's own sending: the epoch it last sent in, how many, and the epoch before. */
  sent?: { epoch: string; count: number; previous?: { epoch: string; count: number } };
  /** `${epoch}:${leaf}` → one past the highest generation received. */
  next: [string, number][];
  ranges: MissingRange[];
  /** Unreported ranges pushed out by the bounds: reported at the next look, whatever their age. */
  overflow?: MissingRange[];
}

export interface MissingMessages {
  readonly sender: DeviceAddress;
  readonly epoch: bigint;
  readonly count: number;
}

export function newMissingMessagesRecord(epoch: bigint): MissingMessagesRecord {
  return { joinedEpoch: epoch.toString(), next: [], ranges: [] };
}

/** What this device states in a message it sends in `epoch`; call noteSent after sending. */
export function previousEpochStatement(
  record: MissingMessagesRecord,
  epoch: bigint,
): { epoch: bigint; sent: number } | undefined {
  const sent = record.sent;
  const previous = sent && sent.epoch !== epoch.toString() ? sent : sent?.previous;
  if (!previous || previous.count === 0) return undefined;
  return { epoch: BigInt(previous.epoch), sent: previous.count };
}

export function noteSent(record: MissingMessagesRecord, epoch: bigint): void {
  const key = epoch.toString();
  const sent = record.sent;
  if (sent?.epoch === key) sent.count++;
  else
    record.sent = {
      epoch: key,
      count: 1,
      ...(sent ? { previous: { epoch: sent.epoch, count: sent.count } } : {}),
    };
}

function tracked(record: MissingMessagesRecord, epoch: bigint, current: bigint): boolean {
  return epoch >= BigInt(record.joinedEpoch) && epoch + TRACKED_EPOCHS >= current && epoch <= current;
}

/**
 * Keeps a new missing range within the bounds. A sender over its own quota loses its own
 * oldest range, so one member skipping its generations cannot push another's out; past the
 * total, reported ranges go first. An unreported range that must go is reported at once
 * (`overflow`), never dropped silently.
 */
function addRange(
  record: MissingMessagesRecord,
  range: Omit<MissingRange, 'reported' | 'since'>,
  now: number,
): void {
  record.ranges.push({ ...range, since: now, reported: false });
  const sameSender = (r: MissingRange) => r.username === range.username && r.deviceId === range.deviceId;
  while (record.ranges.filter(sameSender).length > PER_SENDER)
    evict(record, record.ranges.findIndex(sameSender));
  while (record.ranges.length > MAX_RANGES) {
    const reported = record.ranges.findIndex((r) => r.reported);
    evict(record, reported >= 0 ? reported : 0);
  }
}

/** Pushed-out unreported ranges are summed per sender and epoch, so `overflow` stays small. */
function evict(record: MissingMessagesRecord, index: number): void {
  const [range] = record.ranges.splice(index, 1);
  if (!range || range.reported) return;
  const overflow = (record.overflow ??= []);
  const same = overflow.find(
    (o) => o.epoch === range.epoch && o.username === range.username && o.deviceId === range.deviceId,
  );
  if (same) same.to += range.to - range.from;
  else overflow.push({ ...range });
}

/** A message at `generation` from `leaf` arrived: extend what was seen or fill a gap. */
export function noteReceived(
  record: MissingMessagesRecord,
  at: {
    epoch: bigint;
    current: bigint;
    leaf: number;
    sender: DeviceAddress;
    generation: number;
    now: number;
  },
): void {
  if (!tracked(record, at.epoch, at.current)) return;
  const key = `${at.epoch}:${at.leaf}`;
  const entry = record.next.find(([k]) => k === key);
  const next = entry?.[1] ?? 0;
  if (at.generation >= next) {
    if (at.generation > next) {
      addRange(
        record,
        {
          epoch: at.epoch.toString(),
          leaf: at.leaf,
          ...senderFields(at.sender),
          from: next,
          to: at.generation,
        },
        at.now,
      );
    }
    setNext(record, key, at.generation + 1, at.current);
    return;
  }
  // A late message fills the range that holds it, which may split in two.
  const epoch = at.epoch.toString();
  const index = record.ranges.findIndex(
    (r) => r.epoch === epoch && r.leaf === at.leaf && r.from <= at.generation && at.generation < r.to,
  );
  if (index < 0) return;
  const range = record.ranges[index]!;
  const parts = [
    { ...range, to: at.generation },
    { ...range, from: at.generation + 1 },
  ].filter((r) => r.from < r.to);
  record.ranges.splice(index, 1, ...parts);
}

/** The sender says it sent `sent` messages in `epoch`: those not received are missing. */
export function noteStatement(
  record: MissingMessagesRecord,
  at: {
    epoch: bigint;
    /** The epoch of the message that carries the statement: it must be about an earlier one. */
    messageEpoch: bigint;
    current: bigint;
    leaf: number;
    sender: DeviceAddress;
    sent: number;
    now: number;
    /**
     * Who held `leaf` in `epoch` where the caller still knows (a retained epoch's tree): null
     * for nobody; undefined when that epoch's tree is gone.
     */
    leafHolder?: DeviceAddress | null | undefined;
  },
): void {
  if (at.epoch >= at.messageEpoch || !tracked(record, at.epoch, at.current)) return;
  // The leaf must have been the sender's in that epoch: the caller passes who held it, and a
  // member who took over a freed leaf cannot speak for its former occupant.
  // An epoch whose tree is gone cannot be checked: its statements are not taken.
  if (!at.leafHolder || !sameSender(at.leafHolder, at.sender)) return;
  const key = `${at.epoch}:${at.leaf}`;
  const next = record.next.find(([k]) => k === key)?.[1] ?? 0;
  const sent = Math.min(at.sent, next + MAX_STATED);
  if (sent <= next) return;
  addRange(
    record,
    { epoch: at.epoch.toString(), leaf: at.leaf, ...senderFields(at.sender), from: next, to: sent },
    at.now,
  );
  setNext(record, key, sent, at.current);
}

/** Missing ranges older than MISSING_AFTER_MS and not yet reported; they are marked reported. */
export function takeOverdue(record: MissingMessagesRecord, now: number): MissingMessages[] {
  const out: MissingMessages[] = [];
  const due = [
    ...(record.overflow ?? []),
    ...record.ranges.filter((r) => !r.reported && now - r.since >= MISSING_AFTER_MS),
  ];
  record.overflow = [];
  for (const range of due) {
    range.reported = true;
    out.push({
      sender: { username: range.username, deviceId: range.deviceId },
      epoch: BigInt(range.epoch),
      count: range.to - range.from,
    });
  }
  return out;
}

function sameSender(a: DeviceAddress, b: DeviceAddress): boolean {
  return a.username === b.username && a.deviceId === b.deviceId;
}

function senderFields(sender: DeviceAddress): { username: string; deviceId: number } {
  return { username: sender.username, deviceId: sender.deviceId };
}

function setNext(record: MissingMessagesRecord, key: string, next: number, current: bigint): void {
  record.next = [...record.next.filter(([k]) => k !== key), [key, next] as [string, number]].filter(
    ([k]) => BigInt(k.slice(0, k.indexOf(':'))) + TRACKED_EPOCHS >= current,
  );
}
