// Yardstick: Signal's native library, @signalapp/libsignal-client, measured on the same task as
// our own 1:1 path (one encrypt by A plus one decrypt by B on an established session).
//
// The library is AGPL and only a point of comparison, never a product dependency: it is installed
// on first use into bench/.yardstick (git-ignored, with its own package.json), outside the
// workspace, and loaded by absolute file URL. Nothing here may add it to a package.json or
// package-lock.json of the repo.
//
// The pieces beside this file: libsignal-api.ts (the library's types), libsignal-install.ts
// (installing and loading it), libsignal-stores.ts (in-memory stores); this file sets up a
// session and measures.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { CiphertextMessage, Libsignal, PreKeyBundle } from './libsignal-api.js';
import { LIBSIGNAL_PACKAGE, LIBSIGNAL_VERSION, loadLibsignal } from './libsignal-install.js';
import { createParty, type Party } from './libsignal-stores.js';

export type * from './libsignal-api.js';
export { LIBSIGNAL_PACKAGE, LIBSIGNAL_VERSION, loadLibsignal } from './libsignal-install.js';

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
