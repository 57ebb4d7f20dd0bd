// The inverses of the parsers in mls.ts: encoders for the MLS structures the server reads.
// Clients produce real messages with their MLS library; these let tests, benchmarks and
// tools build well-formed PrivateMessages, Welcomes and KeyPackages without one (the server
// never decrypts, so the ciphertext fields can hold any bytes). A KeyPackage built here is
// correctly signed, leaf and package, by the caller's signing function.
import { ByteWriter } from './binary.js';
import { ApiError } from './errors.js';
import { MLS_VERSION_10, WireFormat, mlsSignContent, mlsVectors, type ContentTypeId } from './mls.js';

function messageStart(wireFormat: number): ByteWriter {
  return new ByteWriter().u16(MLS_VERSION_10).u16(wireFormat);
}

export interface PrivateMessageFields {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentTypeId;
  readonly authenticatedData?: Uint8Array;
  readonly encryptedSenderData: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** An MLSMessage holding a PrivateMessage. */
export function encodePrivateMessage(fields: PrivateMessageFields): Uint8Array {
  return messageStart(WireFormat.PrivateMessage)
    .bytes(mlsVectors(fields.groupId))
    .u64(fields.epoch)
    .u8(fields.contentType)
    .bytes(
      mlsVectors(
        fields.authenticatedData ?? new Uint8Array(0),
        fields.encryptedSenderData,
        fields.ciphertext,
      ),
    )
    .finish();
}

export interface WelcomeFields {
  readonly cipherSuite: number;
  readonly secrets: readonly {
    readonly keyPackageRef: Uint8Array;
    readonly kemOutput: Uint8Array;
    readonly ciphertext: Uint8Array;
  }[];
  readonly encryptedGroupInfo: Uint8Array;
}

/** An MLSMessage holding a Welcome. */
export function encodeWelcome(fields: WelcomeFields): Uint8Array {
  const secrets = new ByteWriter();
  for (const secret of fields.secrets) {
    secrets.bytes(mlsVectors(secret.keyPackageRef, secret.kemOutput, secret.ciphertext));
  }
  return messageStart(WireFormat.Welcome)
    .u16(fields.cipherSuite)
    .bytes(mlsVectors(secrets.finish(), fields.encryptedGroupInfo))
    .finish();
}

export interface KeyPackageFields {
  readonly cipherSuite: number;
  readonly initKey: Uint8Array;
  readonly encryptionKey: Uint8Array;
  /** The leaf's Ed25519 public key; `sign` must sign with its private key. */
  readonly signatureKey: Uint8Array;
  /** Identity of a basic credential. */
  readonly identity: Uint8Array;
  /** Lifetime, seconds since 1970. */
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

function u16Vector(values: readonly number[]): Uint8Array {
  const writer = new ByteWriter();
  for (const value of values) writer.u16(value);
  return mlsVectors(writer.finish());
}

/**
 * An MLSMessage holding a KeyPackage with a basic credential, signed (leaf node and
 * package) by `sign`, which signs the given bytes with the signature key's private key.
 */
export async function encodeKeyPackage(
  fields: KeyPackageFields,
  sign: (message: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  if (fields.notAfter < fields.notBefore)
    throw new ApiError('malformed', 'KeyPackage: lifetime ends before it starts');
  const empty = new Uint8Array(0);
  const leafTbs = new ByteWriter()
    .bytes(mlsVectors(fields.encryptionKey, fields.signatureKey))
    .u16(1) // basic credential
    .bytes(mlsVectors(fields.identity))
    .bytes(u16Vector([MLS_VERSION_10]))
    .bytes(u16Vector([fields.cipherSuite]))
    .bytes(u16Vector([]))
    .bytes(u16Vector([]))
    .bytes(u16Vector([1]))
    .u8(1) // leaf node source: key_package
    .u64(fields.notBefore)
    .u64(fields.notAfter)
    .bytes(mlsVectors(empty)) // leaf node extensions
    .finish();
  const leafSignature = await sign(mlsSignContent('LeafNodeTBS', leafTbs));
  const tbs = new ByteWriter()
    .u16(MLS_VERSION_10)
    .u16(fields.cipherSuite)
    .bytes(mlsVectors(fields.initKey))
    .bytes(leafTbs)
    .bytes(mlsVectors(leafSignature, empty)) // leaf signature; key package extensions
    .finish();
  const signature = await sign(mlsSignContent('KeyPackageTBS', tbs));
  return messageStart(WireFormat.KeyPackage).bytes(tbs).bytes(mlsVectors(signature)).finish();
}
