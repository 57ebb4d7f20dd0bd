/**
 * @ghostproof/crypto for browsers: the ts-mls CryptoProvider on WebCrypto, with keys held as
 * non-extractable CryptoKeys, @noble/curves where WebCrypto lacks a curve, and X-Wing from
 * @noble/post-quantum. Selected by the `browser` export condition.
 */
import type { CryptoProvider } from 'ts-mls';
import { webPrimitives, type WebPrimitivesOptions } from './browser/platform.js';
import type { PlatformPrimitives } from './platform.js';
import { makeCryptoProvider } from './provider.js';

export * from './shared-exports.js';
export type { WebPrimitivesOptions } from './browser/platform.js';

/** The WebCrypto primitives under the provider (probes the browser once). */
export function createPlatformPrimitives(options?: WebPrimitivesOptions): Promise<PlatformPrimitives> {
  return webPrimitives(options);
}

/** A provider for ts-mls on this browser's WebCrypto. */
export async function createCryptoProvider(options?: WebPrimitivesOptions): Promise<CryptoProvider> {
  return makeCryptoProvider(await webPrimitives(options));
}
