// Forward secrecy in memory inside the browser: the protocol flows of
// packages/protocol/test/helpers/key-retirement.ts, run on @ghostproof/crypto's browser build
// (WebCrypto CryptoKeys in its key caches) as Vite bundles it for the web client. The test
// calls `keyRetirementFacts` per ciphersuite and checks the facts against the expectations
// the Node run meets (key-retirement-tests.ts).
import {
  createPlatformPrimitives,
  unsafeTestingCachedSecretKey,
  type CiphersuiteId,
} from '@ghostproof/crypto';
import {
  keyRetirementFacts,
  type KeyRetirementFacts,
} from '../../../../packages/protocol/test/helpers/key-retirement.js';

declare global {
  interface Window {
    keyRetirementFacts(suite: number): Promise<KeyRetirementFacts>;
    platformName(): Promise<string>;
  }
}

/** X25519 with the CryptoKey cached for `raw`, whatever `raw` holds now. */
async function agreeWithCachedCryptoKey(raw: Uint8Array, publicKey: Uint8Array) {
  const cached = unsafeTestingCachedSecretKey(raw) as Promise<CryptoKey> | undefined;
  if (!cached) return undefined;
  const privateKey = await cached;
  const peer = await crypto.subtle.importKey('raw', new Uint8Array(publicKey), { name: 'X25519' }, false, []);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: peer }, privateKey, 256));
}

window.keyRetirementFacts = (suite) => keyRetirementFacts(suite as CiphersuiteId, agreeWithCachedCryptoKey);
window.platformName = async () => (await createPlatformPrimitives()).name;
