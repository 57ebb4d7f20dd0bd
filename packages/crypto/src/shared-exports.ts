// What both entry points export besides their platform's provider.
export {
  Ciphersuite,
  ciphersuiteParams,
  defaultCiphersuite,
  isSupportedCiphersuite,
  supportedCiphersuites,
  type CiphersuiteId,
  type CiphersuiteParams,
  type HashName,
} from './ciphersuite.js';
export { constantTimeEqual } from './bytes.js';
export { CryptoError, type CryptoErrorCode } from './errors.js';
export {
  forgetSecretKeys,
  unsafeTestingCachedSecretKey,
  unsafeTestingCachedSecretKeyCount,
  unsafeTestingIsSecretKeyCached,
} from './key-cache.js';
export type { PlatformPrimitives, Ed25519Primitives, X25519Primitives } from './platform.js';
export { makeCryptoProvider } from './provider.js';
