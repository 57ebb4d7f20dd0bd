// WebSocket frames: one Protocol Buffers message per binary WebSocket message, ClientFrame
// from the client and ServerFrame from the server (schema in proto/ghostproof/api/v1). The
// decoders check the size first, then the protobuf wire format, then every rule the schema
// cannot state (exact lengths, limits, canonical names), so the server acts only on frames
// that are valid in full. Unknown fields are dropped: newer clients may add fields.
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { ApiError, isApiErrorCode, type ApiErrorCode } from './errors.js';
import {
  ClientFrameSchema,
  ServerFrameSchema,
  type ClientFrame,
  type Mailbox,
  type ServerFrame,
} from './gen/ghostproof/api/v1/api_pb.js';
import {
  CLIENT_ID_LENGTH,
  defaultLimits,
  MESSAGE_ID_LENGTH,
  SESSION_TOKEN_LENGTH,
  type Limits,
} from './limits.js';
import { canonicalUsername } from './username.js';

const readOptions = { readUnknownFields: false } as const;

export type FrameLimits = Pick<
  Limits,
  | 'frameBytes'
  | 'applicationMessageBytes'
  | 'handshakeMessageBytes'
  | 'welcomeBytes'
  | 'ackBatch'
  | 'removalsPerCommit'
  | 'groupIdBytes'
>;

function exactLength(what: string, value: Uint8Array, length: number): void {
  if (value.length !== length) throw new ApiError('malformed', `${what}: expected ${length} bytes`);
}

function boundedLength(what: string, value: Uint8Array, min: number, max: number): void {
  if (value.length < min) throw new ApiError('malformed', `${what}: expected at least ${min} bytes`);
  if (value.length > max) throw new ApiError('too-large', `${what}: over ${max} bytes`);
}

/** A mailbox as it travels: canonical username and a positive 31-bit device id. */
export function checkMailbox(mailbox: Mailbox | undefined, what = 'mailbox'): Mailbox {
  if (!mailbox) throw new ApiError('malformed', `${what}: missing`);
  if (canonicalUsername(mailbox.username) !== mailbox.username) {
    throw new ApiError('invalid-username', `${what}: username not canonical`);
  }
  if (!Number.isInteger(mailbox.deviceId) || mailbox.deviceId < 1 || mailbox.deviceId > 0x7fffffff) {
    throw new ApiError('malformed', `${what}: device id out of range`);
  }
  return mailbox;
}

/** Reads a ClientFrame's protobuf encoding; does not check the rules (see validateClientFrame). */
export function decodeClientFrame(
  bytes: Uint8Array,
  limits: Pick<FrameLimits, 'frameBytes'> = defaultLimits,
): ClientFrame {
  if (!(bytes instanceof Uint8Array)) throw new ApiError('malformed', 'frame: expected binary');
  if (bytes.length > limits.frameBytes)
    throw new ApiError('too-large', `frame: over ${limits.frameBytes} bytes`);
  try {
    return fromBinary(ClientFrameSchema, bytes, readOptions);
  } catch (cause) {
    throw new ApiError('malformed', 'frame: not a ClientFrame', { cause });
  }
}

/**
 * Checks every rule of a decoded ClientFrame that protobuf cannot express. Throws an
 * ApiError; the frame's request id is still valid to answer with.
 */
export function validateClientFrame(frame: ClientFrame, limits: FrameLimits = defaultLimits): ClientFrame {
  if (frame.requestId === 0) throw new ApiError('malformed', 'frame: request id 0 is reserved');
  const body = frame.body;
  switch (body.case) {
    case 'authenticate':
      exactLength('session token', body.value.sessionToken, SESSION_TOKEN_LENGTH);
      break;
    case 'createGroup':
      boundedLength('group id', body.value.groupId, 1, limits.groupIdBytes);
      break;
    case 'getRoutingList':
      boundedLength('group id', body.value.groupId, 1, limits.groupIdBytes);
      break;
    case 'sendMessage':
      exactLength('client id', body.value.clientId, CLIENT_ID_LENGTH);
      boundedLength(
        'message',
        body.value.message,
        1,
        Math.max(limits.applicationMessageBytes, limits.handshakeMessageBytes),
      );
      break;
    case 'sendCommit': {
      exactLength('client id', body.value.clientId, CLIENT_ID_LENGTH);
      boundedLength('commit', body.value.commit, 1, limits.handshakeMessageBytes);
      boundedLength('welcome', body.value.welcome, 0, limits.welcomeBytes);
      if (body.value.remove.length > limits.removalsPerCommit) {
        throw new ApiError('too-large', `commit: over ${limits.removalsPerCommit} removals`);
      }
      const seen = new Set<string>();
      for (const mailbox of body.value.remove) {
        checkMailbox(mailbox, 'removed mailbox');
        const key = `${mailbox.username}/${mailbox.deviceId}`;
        if (seen.has(key)) throw new ApiError('malformed', 'commit: a mailbox removed twice');
        seen.add(key);
      }
      break;
    }
    case 'ack':
      if (body.value.messageIds.length === 0) throw new ApiError('malformed', 'ack: no message ids');
      if (body.value.messageIds.length > limits.ackBatch) {
        throw new ApiError('too-large', `ack: over ${limits.ackBatch} message ids`);
      }
      for (const id of body.value.messageIds) exactLength('message id', id, MESSAGE_ID_LENGTH);
      break;
    case 'ping':
      break;
    case undefined:
      throw new ApiError('malformed', 'frame: no body, or a body this server does not know');
  }
  return frame;
}

/** Encodes a ClientFrame; refuses one that breaks the rules, so a client fails before sending. */
export function encodeClientFrame(
  init: MessageInitShape<typeof ClientFrameSchema>,
  limits: FrameLimits = defaultLimits,
): Uint8Array {
  const frame = validateClientFrame(create(ClientFrameSchema, init), limits);
  const bytes = toBinary(ClientFrameSchema, frame);
  if (bytes.length > limits.frameBytes)
    throw new ApiError('too-large', `frame: over ${limits.frameBytes} bytes`);
  return bytes;
}

/**
 * Encodes a ClientFrame without checking its rules. For tests of servers only: a real
 * client uses encodeClientFrame, which refuses to send a frame the server would refuse.
 */
export function unsafeTestingEncodeClientFrame(init: MessageInitShape<typeof ClientFrameSchema>): Uint8Array {
  return toBinary(ClientFrameSchema, create(ClientFrameSchema, init));
}

export function encodeServerFrame(init: MessageInitShape<typeof ServerFrameSchema>): Uint8Array {
  return toBinary(ServerFrameSchema, create(ServerFrameSchema, init));
}

/** Reads a ServerFrame (for clients): size, protobuf, then a body and known error codes. */
export function decodeServerFrame(
  bytes: Uint8Array,
  maxBytes: number = defaultLimits.frameBytes,
): ServerFrame {
  if (!(bytes instanceof Uint8Array)) throw new ApiError('malformed', 'frame: expected binary');
  if (bytes.length > maxBytes) throw new ApiError('too-large', `frame: over ${maxBytes} bytes`);
  let frame: ServerFrame;
  try {
    frame = fromBinary(ServerFrameSchema, bytes, readOptions);
  } catch (cause) {
    throw new ApiError('malformed', 'frame: not a ServerFrame', { cause });
  }
  if (frame.body.case === undefined) throw new ApiError('malformed', 'frame: no body');
  if (frame.body.case === 'delivery')
    exactLength('message id', frame.body.value.messageId, MESSAGE_ID_LENGTH);
  return frame;
}

/** An error Response as the server sends it. */
export function errorFrame(requestId: number, error: ApiError): Uint8Array {
  return encodeServerFrame({
    body: {
      case: 'response',
      value: {
        requestId,
        result: {
          case: 'error',
          value: { code: error.code, message: error.message, retryAfterMs: BigInt(error.retryAfterMs ?? 0) },
        },
      },
    },
  });
}

/** The ApiError an error Response stands for (for clients); unknown codes read as `internal`. */
export function errorFromBody(body: { code: string; message: string; retryAfterMs: bigint }): ApiError {
  const code: ApiErrorCode = isApiErrorCode(body.code) ? body.code : 'internal';
  const retryAfterMs = body.retryAfterMs > 0n ? Number(body.retryAfterMs) : undefined;
  return new ApiError(code, body.message, retryAfterMs === undefined ? undefined : { retryAfterMs });
}

// ---- Hand-written encoders for the two frames a server sends per message ----------------
// The same bytes protobuf-es writes for these messages (checked in frames.test.ts), without
// building message objects: a relay sends one Delivery and one Accepted per message, and
// the reflective encoder's allocations were a tenth of the server's time per message.

class ProtoWriter {
  private readonly parts: number[] = [];
  private readonly blobs: { at: number; bytes: Uint8Array }[] = [];
  private size = 0;

  varint(value: number | bigint): this {
    let v = BigInt(value);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.parts.push(byte);
      this.size++;
    } while (v > 0n);
    return this;
  }

  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  bytes(field: number, value: Uint8Array): this {
    if (value.length === 0) return this;
    this.tag(field, 2).varint(value.length);
    this.blobs.push({ at: this.parts.length, bytes: value });
    this.size += value.length;
    return this;
  }

  /** An embedded message or a length-delimited field already encoded. */
  nested(field: number, encoded: Uint8Array): this {
    this.tag(field, 2).varint(encoded.length);
    this.blobs.push({ at: this.parts.length, bytes: encoded });
    this.size += encoded.length;
    return this;
  }

  uint(field: number, value: number | bigint): this {
    if (value === 0 || value === 0n) return this;
    return this.tag(field, 0).varint(value);
  }

  bool(field: number, value: boolean): this {
    return value ? this.tag(field, 0).varint(1) : this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    let p = 0;
    for (const blob of this.blobs) {
      while (p < blob.at) out[o++] = this.parts[p++]!;
      out.set(blob.bytes, o);
      o += blob.bytes.length;
    }
    while (p < this.parts.length) out[o++] = this.parts[p++]!;
    return out;
  }
}

/** ServerFrame{delivery: Delivery{...}}, byte for byte as encodeServerFrame would write it. */
export function encodeDeliveryFrame(delivery: {
  messageId: Uint8Array;
  kind: number;
  message: Uint8Array;
  receivedAtMs: bigint;
}): Uint8Array {
  const body = new ProtoWriter()
    .bytes(1, delivery.messageId)
    .uint(2, delivery.kind)
    .bytes(3, delivery.message)
    .uint(4, delivery.receivedAtMs)
    .finish();
  return new ProtoWriter().nested(2, body).finish();
}

/** ServerFrame{response: Response{request_id, accepted: Accepted{...}}}. */
export function encodeAcceptedFrame(
  requestId: number,
  accepted: { messageId: Uint8Array; epoch: bigint; duplicate: boolean; acceptedAtMs: bigint },
): Uint8Array {
  const body = new ProtoWriter()
    .bytes(1, accepted.messageId)
    .uint(2, accepted.epoch)
    .bool(3, accepted.duplicate)
    .uint(4, accepted.acceptedAtMs)
    .finish();
  const response = new ProtoWriter().uint(1, requestId).nested(4, body).finish();
  return new ProtoWriter().nested(1, response).finish();
}
