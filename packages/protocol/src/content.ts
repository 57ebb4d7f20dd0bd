// The plaintext inside MLS application messages: a versioned Protocol Buffers message, padded
// to a size bucket before encryption so that ciphertext sizes say little about content.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ContentSchema,
  DeleteSchema,
  DisappearingTimerSchema,
  EditSchema,
  GroupAdminsSchema,
  GroupNameSchema,
  GroupResetSchema,
  ProfileSchema,
  ReactionSchema,
  Receipt_Kind,
  ReceiptSchema,
  TextSchema,
  TypingSchema,
  type Content,
} from './gen/ghostproof/content/v1/content_pb.js';
import { ProtocolError } from './errors.js';

export * from './gen/ghostproof/content/v1/content_pb.js';
export { create };

/** Largest padded plaintext of an application message (DESIGN.md: 256 KiB). */
export const MAX_APPLICATION_PLAINTEXT = 256 * 1024;
const LENGTH_PREFIX = 4;
const SMALLEST_BUCKET = 128;

/** Bucket sizes: 128, 256, 512, ... up to 256 KiB. */
export function paddingBucket(length: number): number {
  let bucket = SMALLEST_BUCKET;
  while (bucket < length) bucket *= 2;
  return bucket;
}

export function encodeContent(content: Content, maxBytes = MAX_APPLICATION_PLAINTEXT): Uint8Array {
  const body = toBinary(ContentSchema, content);
  const bucket = paddingBucket(LENGTH_PREFIX + body.length);
  if (bucket > maxBytes)
    throw new ProtocolError('too-large', 'content: larger than the application message limit');
  const out = new Uint8Array(bucket);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, LENGTH_PREFIX);
  return out;
}

export function decodeContent(padded: Uint8Array): Content {
  if (padded.length < LENGTH_PREFIX || padded.length > MAX_APPLICATION_PLAINTEXT) {
    throw new ProtocolError('malformed', 'content: bad padded length');
  }
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0);
  if (length > padded.length - LENGTH_PREFIX)
    throw new ProtocolError('malformed', 'content: length beyond padding');
  for (let i = LENGTH_PREFIX + length; i < padded.length; i++) {
    if (padded[i] !== 0) throw new ProtocolError('malformed', 'content: non-zero padding');
  }
  try {
    return fromBinary(ContentSchema, padded.subarray(LENGTH_PREFIX, LENGTH_PREFIX + length));
  } catch (cause) {
    throw new ProtocolError('malformed', 'content: cannot decode', { cause });
  }
}

export function newMessageId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

/** Builders for the body of a Content message, so callers need not spell schemas. */
export const body = {
  text: (text: string, replyTo?: Uint8Array): Content['body'] => ({
    case: 'text',
    value: create(TextSchema, { text, replyTo: replyTo ?? new Uint8Array(0) }),
  }),
  reaction: (target: Uint8Array, emoji: string, remove = false): Content['body'] => ({
    case: 'reaction',
    value: create(ReactionSchema, { target, emoji, remove }),
  }),
  edit: (target: Uint8Array, text: string): Content['body'] => ({
    case: 'edit',
    value: create(EditSchema, { target, text }),
  }),
  delete: (target: Uint8Array): Content['body'] => ({
    case: 'delete',
    value: create(DeleteSchema, { target }),
  }),
  receipt: (kind: 'delivered' | 'read', targets: Uint8Array[]): Content['body'] => ({
    case: 'receipt',
    value: create(ReceiptSchema, {
      kind: kind === 'read' ? Receipt_Kind.READ : Receipt_Kind.DELIVERED,
      targets,
    }),
  }),
  typing: (started: boolean): Content['body'] => ({
    case: 'typing',
    value: create(TypingSchema, { started }),
  }),
  disappearingTimer: (seconds: number): Content['body'] => ({
    case: 'disappearingTimer',
    value: create(DisappearingTimerSchema, { seconds }),
  }),
  profile: (displayName: string): Content['body'] => ({
    case: 'profile',
    value: create(ProfileSchema, { displayName }),
  }),
  groupName: (name: string): Content['body'] => ({
    case: 'groupName',
    value: create(GroupNameSchema, { name }),
  }),
  groupAdmins: (usernames: string[]): Content['body'] => ({
    case: 'groupAdmins',
    value: create(GroupAdminsSchema, { usernames }),
  }),
  groupReset: (previousGroupId: Uint8Array): Content['body'] => ({
    case: 'groupReset',
    value: create(GroupResetSchema, { previousGroupId }),
  }),
};
