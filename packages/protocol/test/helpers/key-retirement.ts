// White-box flows for forward secrecy in memory: which MLS path private keys the crypto back
// end's key caches still hold after a commit replaces them. The flows run wherever the test
// runs them, on that runtime's build of @ghostproof/crypto: in Node (node:crypto KeyObjects)
// from packages/protocol/test, and inside Chromium (WebCrypto CryptoKeys) from the web
// client's test page. They look into Conversation's private MLS state on purpose, and return
// facts; key-retirement-tests.ts holds the expectations both runtimes must meet.
import { ByteReader } from '@ghostproof/api';
import {
  ciphersuiteParams,
  constantTimeEqual,
  createCryptoProvider,
  createPlatformPrimitives,
  forgetSecretKeys,
  unsafeTestingIsSecretKeyCached,
  type CiphersuiteId,
  type PlatformPrimitives,
} from '@ghostproof/crypto';
import type { Conversation } from '@ghostproof/protocol';
import {
  clientStateDecoder,
  decode,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  getCiphersuiteImpl,
  mlsMessageDecoder,
  processMessage,
  unsafeTestingAuthenticationService,
  wireformats,
  type ClientState,
} from 'ts-mls';
import { groupOf, land, World } from './people.js';

/**
 * X25519 with the key object a cache holds for `raw`, whatever `raw` holds now (undefined
 * when nothing is cached): the one thing each runtime does its own way.
 */
export type CachedKeyAgreement = (raw: Uint8Array, publicKey: Uint8Array) => Promise<Uint8Array | undefined>;

/** What became of the path private keys a commit took out of one member's state. */
export interface RetirementFacts {
  /** Path keys of the old state that the new state no longer holds. */
  readonly retired: number;
  /** Of those, how many the caches held just before the commit. */
  readonly retiredCachedBefore: number;
  /** Of those, how many the caches hold after it. */
  readonly retiredCachedAfter: number;
  /** Of those, how many arrays still hold a non-zero byte after it. */
  readonly retiredNotZeroed: number;
  /**
   * Of those, how many cache entries still compute the retired key's own X25519 result after
   * the array itself was zeroed (filled only by the negative control, which zeroes them).
   */
  readonly retiredStillUsable: number;
  /** Path keys the new state still holds, and how many of them stay cached. */
  readonly kept: number;
  readonly keptCachedAfter: number;
}

export interface NaturalFacts {
  /** Whether decrypting a commit left the member's leaf key cached (DHKEM does, X-Wing never). */
  readonly leafCachedAfterDecrypting: boolean;
  /** After the member's own next commit replaced that leaf key: */
  readonly leafCachedAfterOwnCommit: boolean;
  readonly leafZeroedAfterOwnCommit: boolean;
}

export interface KeyRetirementFacts {
  readonly processed: RetirementFacts;
  readonly confirmed: RetirementFacts;
  readonly natural: NaturalFacts;
  readonly control: RetirementFacts;
}

/** The X25519 base point (u = 9): a valid peer key for every back end. */
const BASE_POINT = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0));

function stateOf(conversation: Conversation): ClientState {
  return (conversation as unknown as { state: ClientState }).state;
}

function pathKeys(state: ClientState): Uint8Array[] {
  return Object.values(state.privatePath.privateKeys);
}

const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0);

/** Parses every key into the cache, as decapsulating with it would. */
async function warm(platform: PlatformPrimitives, keys: readonly Uint8Array[]): Promise<void> {
  for (const key of keys) await platform.x25519.sharedSecret(key, BASE_POINT);
}

function factsOf(
  before: readonly Uint8Array[],
  cachedBefore: ReadonlySet<Uint8Array>,
  after: ClientState,
): RetirementFacts {
  const held = new Set(pathKeys(after));
  const retired = before.filter((k) => !held.has(k));
  const kept = before.filter((k) => held.has(k));
  return {
    retired: retired.length,
    retiredCachedBefore: retired.filter((k) => cachedBefore.has(k)).length,
    retiredCachedAfter: retired.filter(unsafeTestingIsSecretKeyCached).length,
    retiredNotZeroed: retired.filter((k) => !isZero(k)).length,
    retiredStillUsable: 0,
    kept: kept.length,
    keptCachedAfter: kept.filter(unsafeTestingIsSecretKeyCached).length,
  };
}

const cachedSet = (keys: readonly Uint8Array[]) => new Set(keys.filter(unsafeTestingIsSecretKeyCached));

/** A member's MLS state decoded afresh from its saved record (arrays of its own). */
function stateFromRecord(conversation: Conversation): ClientState {
  const reader = new ByteReader(conversation.record(), 'record');
  reader.u32();
  reader.bytes(reader.u16());
  reader.bytes(reader.u32());
  const state = decode(clientStateDecoder, reader.bytes(reader.u32()));
  if (!state) throw new Error('cannot decode state');
  return state;
}

/**
 * Alice and Bob in one conversation, after one update from Alice: the add carried no update
 * path, so only now do both hold a key for the root as well as for their leaf.
 */
async function pair(suite: CiphersuiteId) {
  const world = new World(suite);
  const alice = await world.person('alice');
  const bob = await world.person('bob');
  const convs = await groupOf(world, alice, [bob]);
  const a = convs.get('alice/1')!;
  const b = convs.get('bob/1')!;
  await land(a, await a.prepareSelfUpdate(), [b]);
  return { a, b };
}

export async function keyRetirementFacts(
  suite: CiphersuiteId,
  cachedKeyAgreement: CachedKeyAgreement,
): Promise<KeyRetirementFacts> {
  const platform = await createPlatformPrimitives();

  // Bob processes Alice's update: his old root key goes, his leaf key stays.
  let { a, b } = await pair(suite);
  let before = pathKeys(stateOf(b));
  await warm(platform, before);
  let cachedBefore = cachedSet(before);
  let pending = await a.prepareSelfUpdate();
  await land(a, pending, [b]);
  const processed = factsOf(before, cachedBefore, stateOf(b));

  // Alice confirms her own update: her old leaf and root keys go.
  ({ a, b } = await pair(suite));
  before = pathKeys(stateOf(a));
  await warm(platform, before);
  cachedBefore = cachedSet(before);
  pending = await a.prepareSelfUpdate();
  await land(a, pending, [b]);
  const confirmed = factsOf(before, cachedBefore, stateOf(a));

  // No warming: Bob has decrypted Alice's update with his leaf key; now he replaces it.
  ({ a, b } = await pair(suite));
  const leaf = stateOf(b).privatePath.privateKeys[2 * stateOf(b).privatePath.leafIndex]!;
  const leafCachedAfterDecrypting = unsafeTestingIsSecretKeyCached(leaf);
  await land(b, await b.prepareSelfUpdate(), [a]);
  const natural: NaturalFacts = {
    leafCachedAfterDecrypting,
    leafCachedAfterOwnCommit: unsafeTestingIsSecretKeyCached(leaf),
    leafZeroedAfterOwnCommit: isZero(leaf),
  };

  // Negative control: the same commit processed by ts-mls directly, from a copy of Bob's state,
  // merged without the eviction Conversation performs.
  ({ a, b } = await pair(suite));
  const copy = stateFromRecord(b);
  before = pathKeys(copy);
  await warm(platform, before);
  cachedBefore = cachedSet(before);
  pending = await a.prepareSelfUpdate();
  const message = decode(mlsMessageDecoder, pending.commit);
  if (message?.wireformat !== wireformats.mls_private_message) throw new Error('not a commit');
  const params = ciphersuiteParams(suite)!;
  const result = await processMessage({
    context: {
      cipherSuite: await getCiphersuiteImpl(params.mlsName, await createCryptoProvider()),
      authService: unsafeTestingAuthenticationService,
      clientConfig: {
        keyRetentionConfig: defaultKeyRetentionConfig,
        lifetimeConfig: defaultLifetimeConfig,
        keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
        paddingConfig: { kind: 'padUntilLength', padUntilLength: 0 },
      },
    },
    state: copy,
    message,
  });
  if (result.kind !== 'newState') throw new Error('the commit was not processed');
  const control = factsOf(before, cachedBefore, result.newState);
  const held = new Set(pathKeys(result.newState));
  let stillUsable = 0;
  for (const key of before.filter((k) => !held.has(k))) {
    const secret = key.slice();
    key.fill(0); // what an owner that zeroes its keys but does not evict them would do
    const expected = await platform.x25519.sharedSecret(secret, BASE_POINT);
    forgetSecretKeys([secret]);
    secret.fill(0);
    const fromCache = await cachedKeyAgreement(key, BASE_POINT);
    if (fromCache && constantTimeEqual(fromCache, expected)) stillUsable++;
  }
  // Leave nothing behind for the next test.
  forgetSecretKeys(before);
  return { processed, confirmed, natural, control: { ...control, retiredStillUsable: stillUsable } };
}
