// Key packages: each device publishes a batch of one-time packages and one last-resort
// package; an adder claims one per device of the account it adds. Before a claimed package
// goes into any commit it is checked here, against the account's verified device list:
// account, device id, signature key, signature, ciphersuite and lifetime. A bad add would
// desynchronise the group for everyone (DESIGN.md, "Adding members").
import { constantTimeEqual, createPlatformPrimitives } from '@ghostproof/crypto';
import type { Device } from '@ghostproof/api';
import {
  decode,
  defaultCapabilities,
  encode,
  generateKeyPackageWithKey,
  keyPackageEncoder,
  makeCustomExtension,
  makeKeyPackageRef,
  mlsMessageDecoder,
  mlsMessageEncoder,
  privateKeyPackageDecoder,
  privateKeyPackageEncoder,
  protocolVersions,
  wireformats,
  type Capabilities,
  type CiphersuiteImpl,
  type KeyPackage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { credentialAddress, makeCredential } from './credential.js';
import { ProtocolError } from './errors.js';
import type { DeviceIdentity } from './identity.js';

/** The last_resort KeyPackage extension (draft-ietf-mls-extensions). */
export const LAST_RESORT_EXTENSION = 0x000a;
/** Group context extension that carries Ghostproof's conversation metadata (private use). */
export const CONVERSATION_EXTENSION = 0xff00;
/** How long a key package is valid. */
export const KEY_PACKAGE_LIFETIME_SECONDS = 90n * 24n * 3600n;
const MAX_KEY_PACKAGE_BYTES = 64 * 1024;

export function ghostproofCapabilities(): Capabilities {
  const base = defaultCapabilities();
  return {
    ...base,
    extensions: [...new Set([...base.extensions, LAST_RESORT_EXTENSION, CONVERSATION_EXTENSION])],
  };
}

export interface GeneratedKeyPackage {
  /** MLSMessage(KeyPackage) bytes, to upload. */
  readonly publicBytes: Uint8Array;
  /** KeyPackageRef, the key a Welcome names it by. */
  readonly ref: Uint8Array;
  readonly lastResort: boolean;
  /** The private part, to keep on the device until the package is used. */
  readonly privateBytes: Uint8Array;
}

export async function generateKeyPackage(
  device: DeviceIdentity,
  cipherSuite: CiphersuiteImpl,
  options: { lastResort: boolean; now?: number },
): Promise<GeneratedKeyPackage> {
  const now = BigInt(Math.floor((options.now ?? Date.now()) / 1000));
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey({
    credential: makeCredential(device),
    capabilities: ghostproofCapabilities(),
    lifetime: { notBefore: now - 3600n, notAfter: now + KEY_PACKAGE_LIFETIME_SECONDS },
    extensions: options.lastResort
      ? [makeCustomExtension({ extensionType: LAST_RESORT_EXTENSION, extensionData: new Uint8Array(0) })]
      : [],
    signatureKeyPair: { signKey: device.signatureKey.secretKey, publicKey: device.signatureKey.publicKey },
    cipherSuite,
  });
  return {
    publicBytes: encode(mlsMessageEncoder, {
      version: protocolVersions.mls10,
      wireformat: wireformats.mls_key_package,
      keyPackage: publicPackage,
    }),
    ref: await makeKeyPackageRef(publicPackage, cipherSuite.hash),
    lastResort: options.lastResort,
    privateBytes: encode(privateKeyPackageEncoder, privatePackage),
  };
}

export function decodePrivateKeyPackage(bytes: Uint8Array): PrivateKeyPackage {
  const decoded = decode(privateKeyPackageDecoder, bytes);
  if (!decoded) throw new ProtocolError('malformed', 'private key package: cannot decode');
  return decoded;
}

export function decodeKeyPackageMessage(bytes: Uint8Array): KeyPackage {
  if (bytes.length > MAX_KEY_PACKAGE_BYTES) throw new ProtocolError('too-large', 'key package: too large');
  const message = decode(mlsMessageDecoder, bytes);
  if (!message || message.wireformat !== wireformats.mls_key_package) {
    throw new ProtocolError('invalid-key-package', 'key package: not an MLS KeyPackage message');
  }
  return message.keyPackage;
}

// MLS variable-length integer (RFC 9420 §2.1.2), for the SignContent we verify ourselves.
function varint(n: number): Uint8Array {
  if (n < 0x40) return Uint8Array.of(n);
  if (n < 0x4000) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  return Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

function opaque(bytes: Uint8Array): Uint8Array {
  const prefix = varint(bytes.length);
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix);
  out.set(bytes, prefix.length);
  return out;
}

/**
 * VerifyWithLabel(leaf signature key, "KeyPackageTBS", KeyPackageTBS, signature), RFC 9420
 * §5.1.2 and §10.1. The TBS is the encoded KeyPackage without its final signature field.
 */
async function keyPackageSignatureValid(keyPackage: KeyPackage): Promise<boolean> {
  const encoded = encode(keyPackageEncoder, keyPackage);
  const signatureField = opaque(keyPackage.signature).length;
  const tbs = encoded.subarray(0, encoded.length - signatureField);
  const signContent = new Uint8Array([
    ...opaque(new TextEncoder().encode('MLS 1.0 KeyPackageTBS')),
    ...opaque(tbs),
  ]);
  const platform = await createPlatformPrimitives();
  return platform.ed25519.verify(keyPackage.leafNode.signaturePublicKey, signContent, keyPackage.signature);
}

/**
 * Checks a claimed key package for one device of a verified device list. Throws
 * ProtocolError('invalid-key-package') naming which check failed; the message holds no user data.
 */
export async function verifyClaimedKeyPackage(
  bytes: Uint8Array,
  expected: { username: string; device: Device; cipherSuite: number },
  nowMs: number = Date.now(),
): Promise<KeyPackage> {
  const keyPackage = decodeKeyPackageMessage(bytes);
  const fail = (why: string): never => {
    throw new ProtocolError('invalid-key-package', `key package: ${why}`);
  };
  if (keyPackage.version !== protocolVersions.mls10) fail('unsupported version');
  if (keyPackage.cipherSuite !== expected.cipherSuite) fail('wrong ciphersuite');
  const address = credentialAddress(keyPackage.leafNode.credential);
  if (!address || address.username !== expected.username || address.deviceId !== expected.device.id) {
    fail('credential names another device');
  }
  if (!constantTimeEqual(keyPackage.leafNode.signaturePublicKey, expected.device.signatureKey)) {
    fail('signature key is not the device key in the device list');
  }
  if (!(await keyPackageSignatureValid(keyPackage))) fail('bad signature');
  const leaf = keyPackage.leafNode;
  if (!('lifetime' in leaf) || !leaf.lifetime) fail('no lifetime');
  const now = BigInt(Math.floor(nowMs / 1000));
  if ('lifetime' in leaf && (now < leaf.lifetime.notBefore || now > leaf.lifetime.notAfter)) fail('expired');
  if (constantTimeEqual(keyPackage.initKey, leaf.hpkePublicKey)) fail('init key equals encryption key');
  if (!leaf.capabilities.ciphersuites.includes(expected.cipherSuite)) fail('ciphersuite not in capabilities');
  return keyPackage;
}

export function isLastResort(keyPackage: KeyPackage): boolean {
  return keyPackage.extensions.some((e) => e.extensionType === LAST_RESORT_EXTENSION);
}
