// The MLS interoperability vectors that exercise a crypto provider, run with each of our back
// ends for every ciphersuite in the files that we support (only suite 1: the vectors do not
// cover X-Wing, which has its own vectors in xwing.test.ts). A provider with one flipped bit
// in HKDF (or, for transcript-hashes, which use no HKDF, in the hash) must fail each file:
// the checks can fail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CiphersuiteImpl, CryptoProvider } from 'ts-mls';
import { cryptoProvider, isSupportedCiphersuite } from '@ghostproof/crypto';
import { createCryptoProvider as createWebCryptoProvider } from '@ghostproof/crypto/browser';
import { loadVectorFile, mlsVectorFiles } from './helpers/mls-vectors.js';

type Check = (impl: CiphersuiteImpl, vector: never) => Promise<void>;

const providers: [string, () => Promise<CryptoProvider>][] = [
  ['node:crypto', () => Promise.resolve(cryptoProvider)],
  ['WebCrypto', () => createWebCryptoProvider()],
  ['WebCrypto with noble curves', () => createWebCryptoProvider({ forceNobleCurves: true })],
];

function flipFirstBit(out: Uint8Array): Uint8Array {
  out[0]! ^= 1;
  return out;
}

/** Our provider, except that every HKDF-Expand output has its lowest bit flipped. */
const brokenHkdfProvider: CryptoProvider = {
  async getCiphersuiteImpl(id) {
    const impl = await cryptoProvider.getCiphersuiteImpl(id);
    const expand: CiphersuiteImpl['kdf']['expand'] = async (...args) =>
      flipFirstBit(await impl.kdf.expand(...args));
    return { ...impl, kdf: { ...impl.kdf, expand } };
  },
};

/** Our provider, except that every digest has its lowest bit flipped. */
const brokenHashProvider: CryptoProvider = {
  async getCiphersuiteImpl(id) {
    const impl = await cryptoProvider.getCiphersuiteImpl(id);
    const digest: CiphersuiteImpl['hash']['digest'] = async (data) =>
      flipFirstBit(await impl.hash.digest(data));
    return { ...impl, hash: { ...impl.hash, digest } };
  },
};

function vectorsOf(file: string): { cipher_suite: number }[] {
  return loadVectorFile<{ cipher_suite: number }[]>(`mls/${file}.json`);
}

for (const [file, check] of Object.entries(mlsVectorFiles) as [string, Check][]) {
  describe(`MLS ${file} vectors`, () => {
    const vectors = vectorsOf(file);
    const supported = vectors.filter((v) => isSupportedCiphersuite(v.cipher_suite));

    it('covers at least one vector of a supported ciphersuite', () => {
      assert.ok(supported.length >= 1, `no supported vectors in ${file}`);
    });

    for (const [name, makeProvider] of providers) {
      it(`passes every supported vector with the ${name} provider`, async () => {
        const provider = await makeProvider();
        for (const vector of supported) {
          const impl = await provider.getCiphersuiteImpl(vector.cipher_suite);
          await check(impl, vector as never);
        }
      });
    }

    const [brokenPart, brokenProvider] =
      file === 'transcript-hashes' ? ['hash', brokenHashProvider] : ['HKDF', brokenHkdfProvider];
    it(`fails with a provider whose ${brokenPart} has one flipped bit`, async () => {
      let failures = 0;
      for (const vector of supported) {
        const impl = await brokenProvider.getCiphersuiteImpl(vector.cipher_suite);
        try {
          await check(impl, vector as never);
        } catch {
          failures++;
        }
      }
      // psk_secret's first vector has no PSKs (an all-zero secret, no HKDF): all others must fail.
      assert.ok(
        failures >= supported.length - 1 && failures >= 1,
        `${failures} of ${supported.length} failed`,
      );
    });
  });
}
