// Yardstick: Signal's native library, @signalapp/libsignal-client, measured on the same task as
// our own 1:1 path (one encrypt by A plus one decrypt by B on an established session).
//
// The library is AGPL and only a point of comparison, never a product dependency: it is installed
// on first use into bench/.yardstick (git-ignored, with its own package.json), outside the
// workspace, and loaded by absolute file URL. Nothing here may add it to a package.json or
// package-lock.json of the repo.

import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const LIBSIGNAL_PACKAGE = '@signalapp/libsignal-client';
export const LIBSIGNAL_VERSION = '0.103.0';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const yardstickDir = join(repoRoot, 'bench', '.yardstick');
const installedPackageJson = join(
  yardstickDir,
  'node_modules',
  ...LIBSIGNAL_PACKAGE.split('/'),
  'package.json',
);

// ---------------------------------------------------------------------------------------------
// The few parts of the library's API (as of 0.103.0, see dist/*.d.ts) that this file uses.
// ---------------------------------------------------------------------------------------------

export interface PublicKey {
  serialize(): Uint8Array;
  equals(other: PublicKey): boolean;
}
export interface PrivateKey {
  getPublicKey(): PublicKey;
  sign(message: Uint8Array): Uint8Array;
}
export interface IdentityKeyPair {
  readonly publicKey: PublicKey;
  readonly privateKey: PrivateKey;
}
export interface KEMPublicKey {
  serialize(): Uint8Array;
}
export interface KEMKeyPair {
  getPublicKey(): KEMPublicKey;
}
export interface ProtocolAddress {
  name(): string;
  deviceId(): number;
}
export interface SessionRecord {
  serialize(): Uint8Array;
}
export interface PreKeyRecord {
  id(): number;
  serialize(): Uint8Array;
}
export interface SignedPreKeyRecord {
  id(): number;
  serialize(): Uint8Array;
}
export interface KyberPreKeyRecord {
  id(): number;
  serialize(): Uint8Array;
}
export interface PreKeyBundle {
  registrationId(): number;
}
export interface CiphertextMessage {
  serialize(): Uint8Array;
  type(): number;
}
export interface SignalMessage {
  counter(): number;
  serialize(): Uint8Array;
}
export interface PreKeySignalMessage {
  signedPreKeyId(): number;
  serialize(): Uint8Array;
}

/** Shape of the library's abstract store classes, as the native bridge calls them. */
export interface SessionStoreLike {
  saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void>;
  getSession(name: ProtocolAddress): Promise<SessionRecord | null>;
  getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]>;
}
export interface IdentityKeyStoreLike {
  getIdentityKey(): Promise<PrivateKey>;
  /** Concrete in the library's base class (derived from getIdentityKey). */
  getIdentityKeyPair(): Promise<IdentityKeyPair>;
  getLocalRegistrationId(): Promise<number>;
  saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<number>;
  isTrustedIdentity(name: ProtocolAddress, key: PublicKey, direction: number): Promise<boolean>;
  getIdentity(name: ProtocolAddress): Promise<PublicKey | null>;
}
export interface PreKeyStoreLike {
  savePreKey(id: number, record: PreKeyRecord): Promise<void>;
  getPreKey(id: number): Promise<PreKeyRecord>;
  removePreKey(id: number): Promise<void>;
}
export interface SignedPreKeyStoreLike {
  saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void>;
  getSignedPreKey(id: number): Promise<SignedPreKeyRecord>;
}
export interface KyberPreKeyStoreLike {
  saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void>;
  getKyberPreKey(id: number): Promise<KyberPreKeyRecord>;
  markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void>;
}

type AbstractClass<T extends object = object> = abstract new () => T;

export interface Libsignal {
  PrivateKey: { generate(): PrivateKey };
  KEMKeyPair: { generate(): KEMKeyPair };
  ProtocolAddress: { new: (name: string, deviceId: number) => ProtocolAddress };
  SessionRecord: { deserialize(bytes: Uint8Array): SessionRecord };
  PreKeyRecord: {
    new: (id: number, publicKey: PublicKey, privateKey: PrivateKey) => PreKeyRecord;
  };
  SignedPreKeyRecord: {
    new: (
      id: number,
      timestamp: number,
      publicKey: PublicKey,
      privateKey: PrivateKey,
      signature: Uint8Array,
    ) => SignedPreKeyRecord;
  };
  KyberPreKeyRecord: {
    new: (id: number, timestamp: number, keyPair: KEMKeyPair, signature: Uint8Array) => KyberPreKeyRecord;
  };
  PreKeyBundle: {
    new: (
      registrationId: number,
      deviceId: number,
      preKeyId: number | null,
      preKey: PublicKey | null,
      signedPreKeyId: number,
      signedPreKey: PublicKey,
      signedPreKeySignature: Uint8Array,
      identityKey: PublicKey,
      kyberPreKeyId: number,
      kyberPreKey: KEMPublicKey,
      kyberPreKeySignature: Uint8Array,
    ) => PreKeyBundle;
  };
  SignalMessage: { deserialize(bytes: Uint8Array): SignalMessage };
  PreKeySignalMessage: { deserialize(bytes: Uint8Array): PreKeySignalMessage };
  CiphertextMessageType: { readonly Whisper: number; readonly PreKey: number };
  IdentityChange: { readonly NewOrUnchanged: number; readonly ReplacedExisting: number };
  SessionStore: AbstractClass;
  IdentityKeyStore: AbstractClass<Pick<IdentityKeyStoreLike, 'getIdentityKeyPair'>>;
  PreKeyStore: AbstractClass;
  SignedPreKeyStore: AbstractClass;
  KyberPreKeyStore: AbstractClass;
  processPreKeyBundle(
    bundle: PreKeyBundle,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
  ): Promise<void>;
  signalEncrypt(
    message: Uint8Array,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
  ): Promise<CiphertextMessage>;
  signalDecrypt(
    message: SignalMessage,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
  ): Promise<Uint8Array>;
  signalDecryptPreKey(
    message: PreKeySignalMessage,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
    preKeyStore: PreKeyStoreLike,
    signedPreKeyStore: SignedPreKeyStoreLike,
    kyberPreKeyStore: KyberPreKeyStoreLike,
  ): Promise<Uint8Array>;
}

const requiredFunctions = [
  'processPreKeyBundle',
  'signalEncrypt',
  'signalDecrypt',
  'signalDecryptPreKey',
  'PrivateKey',
  'KEMKeyPair',
  'ProtocolAddress',
  'SessionRecord',
  'PreKeyRecord',
  'SignedPreKeyRecord',
  'KyberPreKeyRecord',
  'PreKeyBundle',
  'SignalMessage',
  'PreKeySignalMessage',
  'SessionStore',
  'IdentityKeyStore',
  'PreKeyStore',
  'SignedPreKeyStore',
  'KyberPreKeyStore',
] as const;

function isLibsignal(mod: unknown): mod is Libsignal {
  if (typeof mod !== 'object' || mod === null) return false;
  const record = mod as Record<string, unknown>;
  for (const name of requiredFunctions) {
    if (typeof record[name] !== 'function') return false;
  }
  const types = record['CiphertextMessageType'] as Record<string, unknown> | undefined;
  const change = record['IdentityChange'] as Record<string, unknown> | undefined;
  return (
    typeof types?.['Whisper'] === 'number' &&
    typeof types['PreKey'] === 'number' &&
    typeof change?.['NewOrUnchanged'] === 'number' &&
    typeof change['ReplacedExisting'] === 'number'
  );
}

// ---------------------------------------------------------------------------------------------
// Installing and loading
// ---------------------------------------------------------------------------------------------

function installedVersion(): string | undefined {
  if (!existsSync(installedPackageJson)) return undefined;
  try {
    const parsed: unknown = JSON.parse(readFileSync(installedPackageJson, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'version' in parsed &&
      typeof parsed.version === 'string'
    ) {
      return parsed.version;
    }
  } catch {
    // A half-written package.json counts as not installed.
  }
  return undefined;
}

/** npm settings inherited from an enclosing `npm run` that could point the install elsewhere. */
const inheritedNpmSettings =
  /^npm_config_(prefix|local_prefix|global|location|workspaces?|include_workspace_root|dry_run|save|package_lock(_only)?)$/i;

function installLibsignal(): void {
  mkdirSync(yardstickDir, { recursive: true });
  // Its own package.json makes bench/.yardstick a project root of its own, so npm never walks up
  // to the repo's workspace root (and its package.json / package-lock.json).
  const ownPackageJson = join(yardstickDir, 'package.json');
  if (!existsSync(ownPackageJson)) {
    writeFileSync(
      ownPackageJson,
      `${JSON.stringify({ name: 'ghostproof-yardstick', private: true, description: 'Benchmark yardsticks, installed on demand; not a project dependency.' }, null, 2)}\n`,
    );
  }
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !inheritedNpmSettings.test(key)),
  );
  const args = [
    'install',
    '--no-save',
    '--no-package-lock',
    '--ignore-scripts', // the only install script echoes a hint; the prebuilt binary ships in the tarball
    '--no-audit',
    '--no-fund',
    '--prefix',
    yardstickDir,
    `${LIBSIGNAL_PACKAGE}@${LIBSIGNAL_VERSION}`,
  ];
  console.error(`[yardstick] installing ${LIBSIGNAL_PACKAGE}@${LIBSIGNAL_VERSION} into ${yardstickDir}`);
  const result = spawnSync('npm', args, {
    cwd: yardstickDir,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32', // npm is npm.cmd there
  });
  if (result.error !== undefined || result.status !== 0) {
    const detail = result.error?.message ?? `exit status ${String(result.status)}`;
    throw new Error(
      `npm install of ${LIBSIGNAL_PACKAGE}@${LIBSIGNAL_VERSION} failed (${detail}):\n${result.stdout}${result.stderr}`,
    );
  }
  const version = installedVersion();
  if (version !== LIBSIGNAL_VERSION) {
    throw new Error(
      `after npm install, ${installedPackageJson} has version ${String(version)}, not ${LIBSIGNAL_VERSION}`,
    );
  }
}

let loading: Promise<Libsignal> | undefined;

/** Installs @signalapp/libsignal-client@0.103.0 into bench/.yardstick (git-ignored) on first use, outside the project's dependencies, and returns the module. */
export function loadLibsignal(): Promise<Libsignal> {
  loading ??= (async () => {
    if (installedVersion() !== LIBSIGNAL_VERSION) installLibsignal();
    const entry = createRequire(join(yardstickDir, 'package.json')).resolve(LIBSIGNAL_PACKAGE);
    const mod: unknown = await import(pathToFileURL(entry).href);
    if (!isLibsignal(mod)) {
      throw new Error(`${entry} does not export the ${LIBSIGNAL_PACKAGE} API this yardstick expects`);
    }
    return mod;
  })();
  return loading;
}

// ---------------------------------------------------------------------------------------------
// In-memory stores, subclassing the library's abstract store classes. Records are kept as the
// library's own objects, like the MLS states the benchmark holds in memory on our side; with
// `serializeSessions`, session records go through bytes on every save and load instead, as a
// client that persists them (and libsignal's own test stores) would.
// ---------------------------------------------------------------------------------------------

interface Party {
  readonly address: ProtocolAddress;
  readonly identityKey: PrivateKey;
  readonly registrationId: number;
  readonly sessions: SessionStoreLike;
  readonly identities: IdentityKeyStoreLike;
  readonly preKeys: PreKeyStoreLike;
  readonly signedPreKeys: SignedPreKeyStoreLike;
  readonly kyberPreKeys: KyberPreKeyStoreLike;
}

function addressKey(address: ProtocolAddress): string {
  return `${address.name()}.${address.deviceId()}`;
}

function found<T>(value: T | undefined, what: string): Promise<T> {
  return value === undefined ? Promise.reject(new Error(`${what} not found`)) : Promise.resolve(value);
}

function createParty(lib: Libsignal, deviceId: number, serializeSessions: boolean): Party {
  const address = lib.ProtocolAddress.new(randomUUID(), deviceId);
  const identityKey = lib.PrivateKey.generate();
  const registrationId = 1 + (randomBytes(2).readUInt16BE() & 0x3fff);

  class MemorySessionStore extends lib.SessionStore implements SessionStoreLike {
    readonly #records = new Map<string, SessionRecord | Uint8Array>();
    #load(name: ProtocolAddress): SessionRecord | undefined {
      const stored = this.#records.get(addressKey(name));
      return stored instanceof Uint8Array ? lib.SessionRecord.deserialize(stored) : stored;
    }
    saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
      this.#records.set(addressKey(name), serializeSessions ? record.serialize() : record);
      return Promise.resolve();
    }
    getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
      return Promise.resolve(this.#load(name) ?? null);
    }
    getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
      return Promise.all(addresses.map((a) => found(this.#load(a), `session for ${addressKey(a)}`)));
    }
  }

  class MemoryIdentityKeyStore extends lib.IdentityKeyStore implements IdentityKeyStoreLike {
    readonly #known = new Map<string, PublicKey>();
    getIdentityKey(): Promise<PrivateKey> {
      return Promise.resolve(identityKey);
    }
    getLocalRegistrationId(): Promise<number> {
      return Promise.resolve(registrationId);
    }
    saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<number> {
      const previous = this.#known.get(addressKey(name));
      this.#known.set(addressKey(name), key);
      const replaced = previous !== undefined && !previous.equals(key);
      return Promise.resolve(
        replaced ? lib.IdentityChange.ReplacedExisting : lib.IdentityChange.NewOrUnchanged,
      );
    }
    isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _direction: number): Promise<boolean> {
      // Trust on first use, then only the same key.
      const known = this.#known.get(addressKey(name));
      return Promise.resolve(known === undefined || known.equals(key));
    }
    getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
      return Promise.resolve(this.#known.get(addressKey(name)) ?? null);
    }
  }

  class MemoryPreKeyStore extends lib.PreKeyStore implements PreKeyStoreLike {
    readonly #records = new Map<number, PreKeyRecord>();
    savePreKey(id: number, record: PreKeyRecord): Promise<void> {
      this.#records.set(id, record);
      return Promise.resolve();
    }
    getPreKey(id: number): Promise<PreKeyRecord> {
      return found(this.#records.get(id), `pre-key ${id}`);
    }
    removePreKey(id: number): Promise<void> {
      this.#records.delete(id);
      return Promise.resolve();
    }
  }

  class MemorySignedPreKeyStore extends lib.SignedPreKeyStore implements SignedPreKeyStoreLike {
    readonly #records = new Map<number, SignedPreKeyRecord>();
    saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
      this.#records.set(id, record);
      return Promise.resolve();
    }
    getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
      return found(this.#records.get(id), `signed pre-key ${id}`);
    }
  }

  class MemoryKyberPreKeyStore extends lib.KyberPreKeyStore implements KyberPreKeyStoreLike {
    readonly #records = new Map<number, KyberPreKeyRecord>();
    readonly #usedBaseKeys = new Map<string, PublicKey[]>();
    saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
      this.#records.set(id, record);
      return Promise.resolve();
    }
    getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
      return found(this.#records.get(id), `kyber pre-key ${id}`);
    }
    markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
      // Last-resort semantics: the Kyber pre-key stays, but a (kyber, signed, base key) triple
      // may be used only once.
      const slot = `${id}/${signedPreKeyId}`;
      const seen = this.#usedBaseKeys.get(slot) ?? [];
      if (seen.some((k) => k.equals(baseKey))) {
        return Promise.reject(new Error(`kyber pre-key ${id} reused with the same base key`));
      }
      seen.push(baseKey);
      this.#usedBaseKeys.set(slot, seen);
      return Promise.resolve();
    }
  }

  return {
    address,
    identityKey,
    registrationId,
    sessions: new MemorySessionStore(),
    identities: new MemoryIdentityKeyStore(),
    preKeys: new MemoryPreKeyStore(),
    signedPreKeys: new MemorySignedPreKeyStore(),
    kyberPreKeys: new MemoryKyberPreKeyStore(),
  };
}

/** Generates and stores the recipient's pre-keys, returning the bundle the server would hand out. */
async function publishBundle(lib: Libsignal, owner: Party): Promise<PreKeyBundle> {
  const now = Date.now();
  const preKeyId = 1;
  const signedPreKeyId = 1;
  const kyberPreKeyId = 1;

  const preKey = lib.PrivateKey.generate();
  const signedPreKey = lib.PrivateKey.generate();
  const signedPreKeySignature = owner.identityKey.sign(signedPreKey.getPublicKey().serialize());
  const kyberKeyPair = lib.KEMKeyPair.generate();
  const kyberSignature = owner.identityKey.sign(kyberKeyPair.getPublicKey().serialize());

  await owner.preKeys.savePreKey(preKeyId, lib.PreKeyRecord.new(preKeyId, preKey.getPublicKey(), preKey));
  await owner.signedPreKeys.saveSignedPreKey(
    signedPreKeyId,
    lib.SignedPreKeyRecord.new(
      signedPreKeyId,
      now,
      signedPreKey.getPublicKey(),
      signedPreKey,
      signedPreKeySignature,
    ),
  );
  await owner.kyberPreKeys.saveKyberPreKey(
    kyberPreKeyId,
    lib.KyberPreKeyRecord.new(kyberPreKeyId, now, kyberKeyPair, kyberSignature),
  );

  return lib.PreKeyBundle.new(
    owner.registrationId,
    owner.address.deviceId(),
    preKeyId,
    preKey.getPublicKey(),
    signedPreKeyId,
    signedPreKey.getPublicKey(),
    signedPreKeySignature,
    owner.identityKey.getPublicKey(),
    kyberPreKeyId,
    kyberKeyPair.getPublicKey(),
    kyberSignature,
  );
}

function send(lib: Libsignal, from: Party, to: Party, plaintext: Uint8Array): Promise<CiphertextMessage> {
  return lib.signalEncrypt(plaintext, to.address, from.address, from.sessions, from.identities);
}

/** Decrypts as the recipient whatever kind of message the sender produced. */
function receive(lib: Libsignal, from: Party, to: Party, message: CiphertextMessage): Promise<Uint8Array> {
  const type = message.type();
  if (type === lib.CiphertextMessageType.Whisper) {
    return lib.signalDecrypt(
      lib.SignalMessage.deserialize(message.serialize()),
      from.address,
      to.address,
      to.sessions,
      to.identities,
    );
  }
  if (type === lib.CiphertextMessageType.PreKey) {
    return lib.signalDecryptPreKey(
      lib.PreKeySignalMessage.deserialize(message.serialize()),
      from.address,
      to.address,
      to.sessions,
      to.identities,
      to.preKeys,
      to.signedPreKeys,
      to.kyberPreKeys,
    );
  }
  return Promise.reject(new Error(`unexpected ciphertext message type ${type}`));
}

function assertSame(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (!Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)) {
    throw new Error(`libsignal yardstick: ${what} decrypted to different bytes than were encrypted`);
  }
}

/**
 * Alice and Bob with an established 1:1 session: Alice fetches Bob's bundle (signed pre-key,
 * one-time pre-key, Kyber pre-key), sends a PreKeySignalMessage that Bob decrypts, and Bob
 * replies once so Alice's session is acknowledged; from then on Alice sends plain SignalMessages,
 * the steady state of a conversation. (Without the reply every A→B message would stay a
 * PreKeySignalMessage.)
 */
async function establishSession(
  lib: Libsignal,
  serializeSessions: boolean,
): Promise<{ alice: Party; bob: Party }> {
  const alice = createParty(lib, 1, serializeSessions);
  const bob = createParty(lib, 1, serializeSessions);

  const bundle = await publishBundle(lib, bob);
  await lib.processPreKeyBundle(bundle, bob.address, alice.address, alice.sessions, alice.identities);

  const hello = randomBytes(32);
  const first = await send(lib, alice, bob, hello);
  if (first.type() !== lib.CiphertextMessageType.PreKey) {
    throw new Error(`first message should be a PreKeySignalMessage, got type ${first.type()}`);
  }
  assertSame(await receive(lib, alice, bob, first), hello, 'first (pre-key) message');

  const reply = randomBytes(32);
  assertSame(await receive(lib, bob, alice, await send(lib, bob, alice, reply)), reply, "Bob's reply");

  return { alice, bob };
}

/**
 * One thread, one direction A→B: each pair = one signalEncrypt by A and one signalDecrypt by B of
 * a `payloadBytes`-byte message on an established 1:1 session. Runs a warm-up, then measures for
 * at least `minDurationMs` and returns pairs per second.
 *
 * `serializeSessions` (default false): keep session records as bytes in the stores, so every
 * message also pays a SessionRecord serialize + deserialize on each side (about 15-20% slower).
 */
export async function libsignalPairsPerSecond(opts: {
  payloadBytes: number;
  minDurationMs: number;
  serializeSessions?: boolean;
}): Promise<number> {
  const { payloadBytes, minDurationMs } = opts;
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0)
    throw new RangeError(`bad payloadBytes ${payloadBytes}`);
  if (!(minDurationMs > 0)) throw new RangeError(`bad minDurationMs ${minDurationMs}`);

  const lib = await loadLibsignal();
  const { alice, bob } = await establishSession(lib, opts.serializeSessions ?? false);
  const plaintext = randomBytes(payloadBytes);

  const pair = async (): Promise<Uint8Array> =>
    receive(lib, alice, bob, await send(lib, alice, bob, plaintext));

  // Warm-up (checked pair by pair): JIT, native code paths, allocator.
  const warmUpMs = Math.min(1000, Math.max(100, minDurationMs / 5));
  const warmUpStart = performance.now();
  for (let i = 0; i < 20 || performance.now() - warmUpStart < warmUpMs; i++) {
    assertSame(await pair(), plaintext, 'warm-up message');
  }

  let pairs = 0;
  let last: Uint8Array;
  const start = performance.now();
  let elapsed: number;
  do {
    last = await pair();
    pairs++;
    elapsed = performance.now() - start;
  } while (elapsed < minDurationMs);
  assertSame(last, plaintext, 'measured message');

  return pairs / (elapsed / 1000);
}

// Self-check: `node --import tsx bench/yardstick/libsignal.ts`
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pairsPerSecond = await libsignalPairsPerSecond({ payloadBytes: 100, minDurationMs: 2000 });
  console.log(
    `${LIBSIGNAL_PACKAGE}@${LIBSIGNAL_VERSION}: ${pairsPerSecond.toFixed(0)} encrypt+decrypt pairs/s (100-byte payload, A→B, 1 thread)`,
  );
}
