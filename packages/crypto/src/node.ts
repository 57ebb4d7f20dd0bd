/**
 * @ghostproof/crypto for Node: the ts-mls CryptoProvider on node:crypto (OpenSSL) with
 * X-Wing from @noble/post-quantum. Import this package, never node:crypto, elsewhere in the
 * project; browsers get the WebCrypto build through the `browser` export condition.
 */
import type { CryptoProvider } from 'ts-mls';
import { nodePrimitives } from './node/platform.js';
import type { PlatformPrimitives } from './platform.js';
import { makeCryptoProvider } from './provider.js';

export * from './shared-exports.js';

/** The platform primitives under the provider, for tests and for code that needs one primitive. */
export const platformPrimitives: PlatformPrimitives = nodePrimitives();

/** The provider to hand to ts-mls (`getCiphersuiteImpl(name, cryptoProvider)`). */
export const cryptoProvider: CryptoProvider = makeCryptoProvider(platformPrimitives);

/** The same API as the browser build: resolves to the node:crypto provider. */
export function createCryptoProvider(): Promise<CryptoProvider> {
  return Promise.resolve(cryptoProvider);
}

/** The same API as the browser build: resolves to the node:crypto primitives. */
export function createPlatformPrimitives(): Promise<PlatformPrimitives> {
  return Promise.resolve(platformPrimitives);
}
