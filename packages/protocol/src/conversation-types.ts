// What a conversation reports to its caller: roster events, members, the pending commit and
// the outcome of processing a message. Every member derives the same events from the same
// commit; nothing here comes from a server's word.
import type { DeviceAddress } from './credential.js';
import type { Content } from './content.js';

export type RosterEvent =
  | {
      readonly kind: 'member-added';
      readonly by: DeviceAddress;
      readonly username: string;
      readonly deviceIds: number[];
    }
  | {
      readonly kind: 'device-added';
      readonly by: DeviceAddress;
      readonly username: string;
      readonly deviceId: number;
    }
  | { readonly kind: 'member-removed'; readonly by: DeviceAddress; readonly username: string }
  | { readonly kind: 'member-left'; readonly username: string }
  | {
      readonly kind: 'device-removed';
      readonly by: DeviceAddress;
      readonly username: string;
      readonly deviceId: number;
    }
  | { readonly kind: 'you-were-removed'; readonly by: DeviceAddress }
  /** This device's own leave, committed by `by`. */
  | { readonly kind: 'you-left'; readonly by: DeviceAddress }
  /** A settings commit: each field is present only when that setting changed. */
  | {
      readonly kind: 'settings-changed';
      readonly by: DeviceAddress;
      readonly admins?: readonly string[];
      readonly disappearingSeconds?: number;
    };

export interface Member {
  readonly username: string;
  readonly deviceIds: readonly number[];
}

export interface PendingCommit {
  /** Client-chosen id; the same bytes are resent under it until accepted or stale. */
  readonly id: string;
  /** The epoch the commit is for (the server's compare-and-set value). */
  readonly epoch: bigint;
  readonly commit: Uint8Array;
  readonly welcome: Uint8Array | undefined;
  /** Mailboxes the server must add to and remove from the routing list with this commit. */
  readonly routing: { readonly add: readonly DeviceAddress[]; readonly remove: readonly DeviceAddress[] };
  /** What the commit does, as every member will derive it. */
  readonly events: readonly RosterEvent[];
}

export type ProcessOutcome =
  | {
      readonly kind: 'message';
      readonly sender: DeviceAddress;
      readonly content: Content;
      readonly epoch: bigint;
    }
  | { readonly kind: 'commit'; readonly epoch: bigint; readonly events: readonly RosterEvent[] }
  | { readonly kind: 'proposal'; readonly from: DeviceAddress; readonly leave: boolean }
  /** The same message or commit again (a redelivery): nothing changed. */
  | { readonly kind: 'duplicate' };
