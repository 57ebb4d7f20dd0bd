// The MLS Delivery Service: groups (routing lists and epochs), application messages and
// proposals, sequenced commits with their Welcomes, per-device mailboxes and
// acknowledgements. The server reads only the cleartext MLS header to decide what a message
// is and where it goes; it never holds a group secret. Sends are idempotent by client id,
// stored durably before they are accepted, and then announced on the bus to connected
// recipients.
import { createHash } from 'node:crypto';
import { supportedCiphersuites } from '@ghostproof/crypto';
import {
  ApiError,
  ContentType,
  DeliveryKind as WireDeliveryKind,
  encodeDeliveryFrame,
  parseWelcome,
  readMlsMessageHeader,
  WireFormat,
  type Mailbox,
} from '@ghostproof/api';
import type { DeliveryNotice } from '../bus/bus.js';
import type {
  AcceptedSend,
  DeliveryKind,
  MailboxKey,
  RoutingList,
  StoredDelivery,
} from '../storage/store.js';
import type { Session } from './accounts.js';
import type { ServiceContext } from './context.js';

const wireKinds: Record<DeliveryKind, WireDeliveryKind> = {
  message: WireDeliveryKind.MESSAGE,
  commit: WireDeliveryKind.COMMIT,
  welcome: WireDeliveryKind.WELCOME,
};

/** The frame that delivers a stored message: identical for every recipient. */
export function deliveryFrame(
  d: Pick<StoredDelivery, 'messageId' | 'kind' | 'body' | 'receivedAt'>,
): Uint8Array {
  return encodeDeliveryFrame({
    messageId: d.messageId,
    kind: wireKinds[d.kind],
    message: d.body,
    receivedAtMs: BigInt(d.receivedAt),
  });
}

function privateHeader(bytes: Uint8Array, maxBytes: number, groupIdBytes: number) {
  const header = readMlsMessageHeader(bytes, { maxBytes, maxGroupIdBytes: groupIdBytes });
  if (header.wireFormat === WireFormat.PublicMessage) {
    throw new ApiError('unsupported', 'MLS PublicMessage refused: send handshakes as PrivateMessage');
  }
  if (header.wireFormat !== WireFormat.PrivateMessage) {
    throw new ApiError('malformed', 'expected an MLS PrivateMessage');
  }
  return header;
}

export class DeliveryService {
  constructor(private readonly ctx: ServiceContext) {}

  private expiry(now: number): number {
    return now + this.ctx.config.messageTtlMs;
  }

  async createGroup(session: Session, groupId: Uint8Array): Promise<RoutingList> {
    this.ctx.limiters.sendsPerDevice.take(`${session.accountId}/${session.deviceId}`);
    return this.ctx.store.createGroup(groupId, session, this.ctx.now());
  }

  async routingList(session: Session, groupId: Uint8Array): Promise<RoutingList> {
    return this.ctx.store.routingList(groupId, session);
  }

  async sendMessage(session: Session, clientId: Uint8Array, message: Uint8Array): Promise<AcceptedSend> {
    const { limits } = this.ctx.config;
    const header = privateHeader(
      message,
      Math.max(limits.applicationMessageBytes, limits.handshakeMessageBytes),
      limits.groupIdBytes,
    );
    if (header.contentType === ContentType.Commit) {
      throw new ApiError('malformed', 'commits are sent with SendCommit');
    }
    if (header.contentType === ContentType.Application && message.length > limits.applicationMessageBytes) {
      throw new ApiError('too-large', `application message: over ${limits.applicationMessageBytes} bytes`);
    }
    if (header.contentType === ContentType.Proposal && message.length > limits.handshakeMessageBytes) {
      throw new ApiError('too-large', `proposal: over ${limits.handshakeMessageBytes} bytes`);
    }
    this.ctx.limiters.sendsPerDevice.take(`${session.accountId}/${session.deviceId}`);
    const now = this.ctx.now();
    const accepted = await this.ctx.store.storeMessage({
      sender: session,
      clientId,
      contentHash: createHash('sha256').update('message\0').update(message).digest(),
      groupId: header.groupId,
      body: message,
      now,
      expiresAt: this.expiry(now),
    });
    this.announce(accepted, { message });
    return accepted;
  }

  async sendCommit(
    session: Session,
    request: { clientId: Uint8Array; commit: Uint8Array; welcome: Uint8Array; remove: readonly Mailbox[] },
  ): Promise<AcceptedSend> {
    const { limits } = this.ctx.config;
    const header = privateHeader(request.commit, limits.handshakeMessageBytes, limits.groupIdBytes);
    if (header.contentType !== ContentType.Commit)
      throw new ApiError('malformed', 'SendCommit: not a commit');
    let welcome: { body: Uint8Array; keyPackageRefs: readonly Uint8Array[] } | undefined;
    if (request.welcome.length > 0) {
      const parsed = parseWelcome(request.welcome, {
        maxBytes: limits.welcomeBytes,
        maxWelcomeSecrets: limits.routingListMembers,
      });
      if (!(supportedCiphersuites as readonly number[]).includes(parsed.cipherSuite)) {
        throw new ApiError('unsupported', 'Welcome: cipher suite not accepted here');
      }
      welcome = { body: request.welcome, keyPackageRefs: parsed.keyPackageRefs };
    }
    this.ctx.limiters.sendsPerDevice.take(`${session.accountId}/${session.deviceId}`);
    const hash = createHash('sha256')
      .update('commit\0')
      .update(request.commit)
      .update('\0welcome\0')
      .update(request.welcome);
    for (const m of request.remove) hash.update(`\0${m.username}/${m.deviceId}`);
    const now = this.ctx.now();
    const accepted = await this.ctx.store.sequenceCommit({
      sender: session,
      clientId: request.clientId,
      contentHash: hash.digest(),
      groupId: header.groupId,
      epoch: header.epoch,
      commit: request.commit,
      ...(welcome ? { welcome } : {}),
      remove: request.remove.map((m) => ({ username: m.username, deviceId: m.deviceId })),
      maxMembers: limits.routingListMembers,
      now,
      expiresAt: this.expiry(now),
    });
    this.announce(accepted, { commit: request.commit, ...(welcome ? { welcome: welcome.body } : {}) });
    return accepted;
  }

  /**
   * Tells the bus about every new mailbox entry (and, for a resend, about the entries of the
   * first send still waiting), with the delivery frame encoded once.
   */
  private announce(accepted: AcceptedSend, bodies: Partial<Record<DeliveryKind, Uint8Array>>): void {
    for (const delivery of accepted.deliveries) {
      if (delivery.fanout.length === 0) continue;
      const body = bodies[delivery.kind]!;
      const base = {
        messageId: delivery.messageId,
        kind: delivery.kind,
        body,
        receivedAt: accepted.acceptedAt,
      };
      const frame = deliveryFrame(base);
      if (!accepted.duplicate) this.ctx.metrics.accepted.inc({ kind: delivery.kind });
      for (const { mailbox, seq } of delivery.fanout) {
        const notice: DeliveryNotice = { ...base, seq, frame };
        this.ctx.bus.publish(mailbox, notice);
      }
    }
  }

  /** Undelivered entries of a mailbox, oldest first, except those at `excluding`. */
  async pending(mailbox: MailboxKey, limit: number, excluding: readonly number[]): Promise<StoredDelivery[]> {
    return this.ctx.store.pendingDeliveries(mailbox, 0, limit, this.ctx.now(), excluding);
  }

  async ack(mailbox: MailboxKey, messageIds: readonly Uint8Array[]): Promise<number> {
    const count = await this.ctx.store.ack(mailbox, messageIds);
    this.ctx.metrics.acked.inc(count);
    return count;
  }
}
