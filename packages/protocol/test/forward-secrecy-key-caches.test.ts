// Forward secrecy in memory, on node:crypto: after a commit is merged (processed, or our own
// confirmed), none of the path private keys it retired is left parsed in the crypto back
// end's key caches, and their arrays are zeroed; the negative control merges the same commit
// through ts-mls without the eviction and finds the keys cached and still usable. The same
// expectations run in Chromium on WebCrypto (apps/web/test/browser-key-caches.test.ts).
import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { unsafeTestingCachedSecretKey } from '@ghostproof/crypto';
import { keyRetirementFacts } from './helpers/key-retirement.js';
import { describeKeyRetirement } from './helpers/key-retirement-tests.js';

const X25519_SPKI = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

async function agreeWithCachedKeyObject(raw: Uint8Array, publicKey: Uint8Array) {
  const privateKey = unsafeTestingCachedSecretKey(raw) as KeyObject | undefined;
  if (!privateKey) return undefined;
  const peer = createPublicKey({
    key: Buffer.from([...X25519_SPKI, ...publicKey]),
    format: 'der',
    type: 'spki',
  });
  return new Uint8Array(diffieHellman({ privateKey, publicKey: peer }));
}

describeKeyRetirement('node:crypto', (suite) => keyRetirementFacts(suite, agreeWithCachedKeyObject));
