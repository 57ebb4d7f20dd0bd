// The few parts of MLS (RFC 9420) the server reads, and nothing more: the cleartext header of
// an MLSMessage (wire format, group id, epoch, content type), the KeyPackageRefs and cipher
// suite of a Welcome, and a KeyPackage's cipher suite, signature key, lifetime and
// reference. The server relays ciphertext; these parsers let it sequence and route it.
// Every read is bounded by the input's length and by explicit limits, every structure is
// read whole (trailing bytes are an error), and every failure is a typed ApiError.
import { ApiError } from './errors.js';

export const MLS_VERSION_10 = 1;

export const WireFormat = {
  PublicMessage: 1,
  PrivateMessage: 2,
  Welcome: 3,
  GroupInfo: 4,
  KeyPackage: 5,
} as const;
export type WireFormatId = (typeof WireFormat)[keyof typeof WireFormat];

export const ContentType = { Application: 1, Proposal: 2, Commit: 3 } as const;
export type ContentTypeId = (typeof ContentType)[keyof typeof ContentType];

export const CredentialType = { Basic: 1, X509: 2 } as const;

/** Hash functions that MLS cipher suites use for references. */
export type RefHashName = 'SHA-256' | 'SHA-512';

/** The caller's hash: the api package holds no cryptography. */
export type Digest = (hash: RefHashName, data: Uint8Array) => Promise<Uint8Array>;

/** The hash of each cipher suite whose references we can compute (RFC 9420 §17.1). */
const suiteHashes: ReadonlyMap<number, { hash: RefHashName; length: number }> = new Map([
  [0x0001, { hash: 'SHA-256', length: 32 }],
  [0x0002, { hash: 'SHA-256', length: 32 }],
  [0x0003, { hash: 'SHA-256', length: 32 }],
  [0x0004, { hash: 'SHA-512', length: 64 }],
  [0x0005, { hash: 'SHA-512', length: 64 }],
  [0x0006, { hash: 'SHA-512', length: 64 }],
  // X-Wing, AES-256-GCM, SHA-512, Ed25519: Ghostproof's default (private-use id in ts-mls 2.0).
  [0xf00d, { hash: 'SHA-512', length: 64 }],
]);

/** The reference hash of a cipher suite, or undefined when we do not know the suite. */
export function refHashOf(cipherSuite: number): { hash: RefHashName; length: number } | undefined {
  return suiteHashes.get(cipherSuite);
}

/** Limits on what the parsers accept, beyond the input's own length. */
export interface MlsParseLimits {
  /** Largest whole input. */
  readonly maxBytes: number;
  /** Largest group id. */
  readonly maxGroupIdBytes: number;
  /** Most KeyPackageRefs (new members) in one Welcome. */
  readonly maxWelcomeSecrets: number;
}

export const defaultMlsParseLimits: MlsParseLimits = {
  maxBytes: 16 * 1024 * 1024,
  maxGroupIdBytes: 255,
  maxWelcomeSecrets: 10_000,
};

/** A bounded reader for the TLS presentation language with MLS's variable-length vectors. */
class MlsReader {
  offset = 0;

  constructor(
    readonly input: Uint8Array,
    private readonly what: string,
  ) {}

  fail(reason: string): never {
    throw new ApiError('malformed', `${this.what}: ${reason}`);
  }

  private need(length: number): void {
    if (this.input.length - this.offset < length) this.fail('truncated');
  }

  u8(): number {
    this.need(1);
    return this.input[this.offset++]!;
  }

  u16(): number {
    this.need(2);
    const value = (this.input[this.offset]! << 8) | this.input[this.offset + 1]!;
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const i = this.offset;
    const value =
      ((this.input[i]! << 24) |
        (this.input[i + 1]! << 16) |
        (this.input[i + 2]! << 8) |
        this.input[i + 3]!) >>>
      0;
    this.offset += 4;
    return value;
  }

  u64(): bigint {
    const high = this.u32();
    const low = this.u32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  /**
   * RFC 9420 §2.1.2: a 1, 2 or 4-byte length with a 2-bit prefix. The prefix 0b11 is
   * invalid, and we also refuse lengths not written in the fewest bytes, so that every
   * structure has exactly one encoding (references hash the bytes).
   */
  varint(): number {
    const first = this.u8();
    const prefix = first >> 6;
    if (prefix === 0) return first;
    if (prefix === 1) {
      const value = ((first & 0x3f) << 8) | this.u8();
      if (value < 64) this.fail('length not minimally encoded');
      return value;
    }
    if (prefix === 2) {
      this.need(3);
      const i = this.offset;
      const value =
        (((first & 0x3f) << 24) | (this.input[i]! << 16) | (this.input[i + 1]! << 8) | this.input[i + 2]!) >>>
        0;
      this.offset += 3;
      if (value < 16384) this.fail('length not minimally encoded');
      return value;
    }
    return this.fail('invalid length prefix');
  }

  /** An opaque<V>: returns a view (no copy) into the input. */
  vector(max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.varint();
    if (length > max) this.fail('field too long');
    this.need(length);
    const value = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** A T<V> of variable-size items: reads the byte length, then items until it is used up. */
  list<T>(readItem: (reader: MlsReader) => T, maxItems: number): T[] {
    const length = this.varint();
    this.need(length);
    const end = this.offset + length;
    const items: T[] = [];
    while (this.offset < end) {
      if (items.length >= maxItems) this.fail('too many items');
      const sub = new MlsReader(this.input.subarray(0, end), this.what);
      sub.offset = this.offset;
      items.push(readItem(sub));
      this.offset = sub.offset;
    }
    return items;
  }

  /** A uint16<V>: a vector of 16-bit values. */
  u16List(maxItems: number): number[] {
    const bytes = this.vector(maxItems * 2);
    if (bytes.length % 2 !== 0) this.fail('odd length of a uint16 vector');
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i += 2) out.push((bytes[i]! << 8) | bytes[i + 1]!);
    return out;
  }

  end(): void {
    if (this.offset !== this.input.length) this.fail('trailing bytes');
  }
}

function checkInput(bytes: unknown, what: string, maxBytes: number): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new ApiError('malformed', `${what}: expected bytes`);
  if (bytes.length > maxBytes) throw new ApiError('too-large', `${what}: over ${maxBytes} bytes`);
}

function readMessageStart(reader: MlsReader): number {
  const version = reader.u16();
  if (version !== MLS_VERSION_10)
    throw new ApiError('unsupported', 'MLSMessage: unsupported protocol version');
  const wireFormat = reader.u16();
  if (wireFormat < WireFormat.PublicMessage || wireFormat > WireFormat.KeyPackage) {
    throw new ApiError('unsupported', 'MLSMessage: unknown wire format');
  }
  return wireFormat;
}

function readContentType(reader: MlsReader): ContentTypeId {
  const contentType = reader.u8();
  if (contentType < ContentType.Application || contentType > ContentType.Commit) {
    reader.fail('unknown content type');
  }
  return contentType as ContentTypeId;
}

export type MlsMessageHeader =
  | {
      readonly wireFormat: typeof WireFormat.PrivateMessage | typeof WireFormat.PublicMessage;
      readonly groupId: Uint8Array;
      readonly epoch: bigint;
      readonly contentType: ContentTypeId;
    }
  | {
      readonly wireFormat:
        typeof WireFormat.Welcome | typeof WireFormat.GroupInfo | typeof WireFormat.KeyPackage;
    };

/**
 * The cleartext header of an MLSMessage. A PrivateMessage is read whole (its three opaque
 * fields must fill the input exactly). A PublicMessage is read up to its content type only:
 * Ghostproof refuses PublicMessages (handshakes travel as PrivateMessage), and the header is
 * enough to say why. Other wire formats return just the wire format.
 */
export function readMlsMessageHeader(
  bytes: Uint8Array,
  limits: Partial<MlsParseLimits> = {},
): MlsMessageHeader {
  const { maxBytes, maxGroupIdBytes } = { ...defaultMlsParseLimits, ...limits };
  checkInput(bytes, 'MLSMessage', maxBytes);
  const reader = new MlsReader(bytes, 'MLSMessage');
  const wireFormat = readMessageStart(reader);
  if (wireFormat === WireFormat.PrivateMessage) {
    const groupId = reader.vector(maxGroupIdBytes).slice();
    if (groupId.length === 0) reader.fail('empty group id');
    const epoch = reader.u64();
    const contentType = readContentType(reader);
    reader.vector(); // authenticated_data
    reader.vector(); // encrypted_sender_data
    reader.vector(); // ciphertext
    reader.end();
    return { wireFormat, groupId, epoch, contentType };
  }
  if (wireFormat === WireFormat.PublicMessage) {
    const groupId = reader.vector(maxGroupIdBytes).slice();
    if (groupId.length === 0) reader.fail('empty group id');
    const epoch = reader.u64();
    const senderType = reader.u8();
    if (senderType === 1 || senderType === 2) reader.u32();
    else if (senderType !== 3 && senderType !== 4) reader.fail('unknown sender type');
    reader.vector(); // authenticated_data
    const contentType = readContentType(reader);
    return { wireFormat, groupId, epoch, contentType };
  }
  return {
    wireFormat: wireFormat as
      typeof WireFormat.Welcome | typeof WireFormat.GroupInfo | typeof WireFormat.KeyPackage,
  };
}

export interface ParsedWelcome {
  readonly cipherSuite: number;
  /** The KeyPackageRef of every new member, in order; no duplicates. */
  readonly keyPackageRefs: readonly Uint8Array[];
}

/** A Welcome (an MLSMessage of wire format mls_welcome): its cipher suite and KeyPackageRefs. */
export function parseWelcome(bytes: Uint8Array, limits: Partial<MlsParseLimits> = {}): ParsedWelcome {
  const { maxBytes, maxWelcomeSecrets } = { ...defaultMlsParseLimits, ...limits };
  checkInput(bytes, 'Welcome', maxBytes);
  const reader = new MlsReader(bytes, 'Welcome');
  if (readMessageStart(reader) !== WireFormat.Welcome)
    throw new ApiError('malformed', 'Welcome: wrong wire format');
  const cipherSuite = reader.u16();
  const refLength = refHashOf(cipherSuite)?.length;
  const keyPackageRefs = reader.list((item) => {
    const ref = item.vector(64).slice();
    if (ref.length === 0 || (refLength !== undefined && ref.length !== refLength)) {
      item.fail('KeyPackageRef of the wrong length');
    }
    item.vector(); // kem_output
    item.vector(); // ciphertext
    return ref;
  }, maxWelcomeSecrets);
  reader.vector(); // encrypted_group_info
  reader.end();
  if (keyPackageRefs.length === 0) reader.fail('no new members');
  const seen = new Set<string>();
  for (const ref of keyPackageRefs) {
    const key = hex(ref);
    if (seen.has(key)) reader.fail('duplicate KeyPackageRef');
    seen.add(key);
  }
  return { cipherSuite, keyPackageRefs };
}

export interface ParsedKeyPackage {
  readonly cipherSuite: number;
  /** The encoded KeyPackage (without the MLSMessage framing): the input of its reference. */
  readonly keyPackage: Uint8Array;
  /** The encoded KeyPackageTBS: what its signature covers (with the label, see below). */
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
  readonly initKey: Uint8Array;
  readonly encryptionKey: Uint8Array;
  /** The leaf's signature public key: for Ghostproof, the device's Ed25519 key. */
  readonly signatureKey: Uint8Array;
  readonly credentialType: number;
  /** Seconds since 1970, from the leaf's lifetime. */
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

const MAX_KEY_BYTES = 4096;
const MAX_CAPABILITY_ITEMS = 256;
const MAX_EXTENSIONS = 64;

function readExtensions(reader: MlsReader): void {
  const types = new Set<number>();
  reader.list((item) => {
    const type = item.u16();
    if (types.has(type)) item.fail('duplicate extension');
    types.add(type);
    item.vector();
  }, MAX_EXTENSIONS);
}

/**
 * A KeyPackage (an MLSMessage of wire format mls_key_package), read whole: version, cipher
 * suite, init key, the leaf node (keys, credential, capabilities, lifetime, extensions,
 * signature) and the package's own extensions and signature.
 */
export function parseKeyPackage(bytes: Uint8Array, limits: Partial<MlsParseLimits> = {}): ParsedKeyPackage {
  const { maxBytes } = { ...defaultMlsParseLimits, ...limits };
  checkInput(bytes, 'KeyPackage', maxBytes);
  const reader = new MlsReader(bytes, 'KeyPackage');
  if (readMessageStart(reader) !== WireFormat.KeyPackage) {
    throw new ApiError('malformed', 'KeyPackage: wrong wire format');
  }
  const start = reader.offset;
  if (reader.u16() !== MLS_VERSION_10)
    throw new ApiError('unsupported', 'KeyPackage: unsupported protocol version');
  const cipherSuite = reader.u16();
  const initKey = reader.vector(MAX_KEY_BYTES).slice();
  // LeafNode
  const encryptionKey = reader.vector(MAX_KEY_BYTES).slice();
  const signatureKey = reader.vector(MAX_KEY_BYTES).slice();
  const credentialType = reader.u16();
  if (credentialType === CredentialType.X509) {
    reader.list((item) => item.vector(), MAX_CAPABILITY_ITEMS);
  } else {
    reader.vector(); // basic identity, or the data of a custom credential
  }
  reader.u16List(MAX_CAPABILITY_ITEMS); // versions
  reader.u16List(MAX_CAPABILITY_ITEMS); // cipher suites
  reader.u16List(MAX_CAPABILITY_ITEMS); // extensions
  reader.u16List(MAX_CAPABILITY_ITEMS); // proposals
  reader.u16List(MAX_CAPABILITY_ITEMS); // credentials
  const leafNodeSource = reader.u8();
  if (leafNodeSource !== 1) reader.fail('leaf node source is not key_package');
  const notBefore = reader.u64();
  const notAfter = reader.u64();
  readExtensions(reader); // leaf node extensions
  reader.vector(); // leaf node signature
  readExtensions(reader); // key package extensions
  const tbsEnd = reader.offset;
  const signature = reader.vector(MAX_KEY_BYTES).slice();
  reader.end();
  if (initKey.length === 0 || encryptionKey.length === 0 || signatureKey.length === 0) {
    reader.fail('empty key');
  }
  return {
    cipherSuite,
    keyPackage: bytes.slice(start),
    tbs: bytes.slice(start, tbsEnd),
    signature,
    initKey,
    encryptionKey,
    signatureKey,
    credentialType,
    notBefore,
    notAfter,
  };
}

function writeVarint(length: number, out: number[]): void {
  if (length < 64) out.push(length);
  else if (length < 16384) out.push(0x40 | (length >> 8), length & 0xff);
  else if (length < 0x40000000)
    out.push(0x80 | (length >>> 24), (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
  else throw new ApiError('too-large', 'MLS vector: over 2^30 - 1 bytes');
}

/** Encodes opaque<V> fields one after another. */
export function mlsVectors(...fields: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  const prefixes = fields.map((field) => {
    const prefix: number[] = [];
    writeVarint(field.length, prefix);
    total += prefix.length + field.length;
    return prefix;
  });
  const out = new Uint8Array(total);
  let offset = 0;
  fields.forEach((field, i) => {
    out.set(prefixes[i]!, offset);
    offset += prefixes[i]!.length;
    out.set(field, offset);
    offset += field.length;
  });
  return out;
}

const encoder = new TextEncoder();

/** RFC 9420 §5.2 RefHash input: struct { opaque label<V>; opaque value<V>; }. */
export function refHashInput(label: string, value: Uint8Array): Uint8Array {
  return mlsVectors(encoder.encode(label), value);
}

/**
 * KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference", KeyPackage) with the hash of the
 * package's cipher suite. `unsupported` for a suite whose hash we do not know.
 */
export async function keyPackageRef(
  parsed: Pick<ParsedKeyPackage, 'cipherSuite' | 'keyPackage'>,
  digest: Digest,
): Promise<Uint8Array> {
  const suite = refHashOf(parsed.cipherSuite);
  if (!suite) throw new ApiError('unsupported', 'KeyPackage: unknown cipher suite');
  const ref = await digest(suite.hash, refHashInput('MLS 1.0 KeyPackage Reference', parsed.keyPackage));
  if (ref.length !== suite.length)
    throw new ApiError('internal', 'KeyPackageRef: digest of the wrong length');
  return ref;
}

/** RFC 9420 §5.1.2 SignWithLabel content: struct { opaque label<V> = "MLS 1.0 " + Label; opaque content<V>; }. */
export function mlsSignContent(label: string, content: Uint8Array): Uint8Array {
  return mlsVectors(encoder.encode(`MLS 1.0 ${label}`), content);
}

/** What a KeyPackage's signature (by its leaf's signature key) covers. */
export function keyPackageSignatureInput(parsed: Pick<ParsedKeyPackage, 'tbs'>): Uint8Array {
  return mlsSignContent('KeyPackageTBS', parsed.tbs);
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
