// The platform back ends every known-answer test runs against. Node 20 offers Ed25519 and
// X25519 in WebCrypto, so the WebCrypto build exercises both its own curves and, when forced,
// the @noble/curves fallback that browsers without them get.
import assert from 'node:assert/strict';
import { platformPrimitives, type PlatformPrimitives } from '@ghostproof/crypto';
import { createPlatformPrimitives } from '@ghostproof/crypto/browser';

export interface PlatformVariant {
  readonly name: string;
  /** The platform, created once per test file and checked to be the back end named. */
  readonly platform: () => Promise<PlatformPrimitives>;
}

function variant(
  name: string,
  expectedName: RegExp,
  create: () => Promise<PlatformPrimitives>,
): PlatformVariant {
  let created: Promise<PlatformPrimitives> | undefined;
  return {
    name,
    platform() {
      created ??= create().then((platform) => {
        // Guards against a variant silently running on another back end (e.g. a WebCrypto
        // probe failing and falling back to noble), which would leave a back end untested.
        assert.match(platform.name, expectedName);
        return platform;
      });
      return created;
    },
  };
}

export const platformVariants: readonly PlatformVariant[] = [
  variant('node:crypto', /^node:crypto$/, () => Promise.resolve(platformPrimitives)),
  variant('WebCrypto', /Ed25519: WebCrypto, X25519: WebCrypto/, () => createPlatformPrimitives()),
  variant('WebCrypto with @noble/curves', /Ed25519: noble, X25519: noble/, () =>
    createPlatformPrimitives({ forceNobleCurves: true }),
  ),
];

export const nodePlatform: PlatformVariant = platformVariants[0]!;
