// HPKE base mode (RFC 9180) as our two ciphersuites compose it, on every back end: round
// trips of seal/open and of the secret export, tampering of each input an attacker controls,
// and the published known answer of RFC 9180 Appendix A.1.1 for DHKEM(X25519, HKDF-SHA256).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CryptoError,
  ciphersuiteParams,
  supportedCiphersuites,
  type CiphersuiteParams,
  type PlatformPrimitives,
} from '@ghostproof/crypto';
import { makeDhkemX25519 } from '../src/dhkem-x25519.js';
import { makeHkdf } from '../src/hkdf.js';
import { makeHpkeSuite, type HpkeSuite } from '../src/hpke.js';
import { makeXWingKem } from '../src/xwing.js';
import { platformVariants } from './helpers/platforms.js';
import { flipBit, fromHex, toHex } from './helpers/vectors.js';

function suiteFor(platform: PlatformPrimitives, params: CiphersuiteParams): HpkeSuite {
  const kem = params.kem === 'X-Wing' ? makeXWingKem(platform) : makeDhkemX25519(platform);
  assert.equal(kem.id, params.kemId);
  const kdf = makeHkdf(platform, params.hash);
  return makeHpkeSuite(platform, kem, kdf, params.kdfId, params.aeadId, params.aeadKeyLength);
}

const text = (s: string) => new TextEncoder().encode(s);
const info = text('ghostproof hpke test info');
const aad = text('ghostproof hpke test aad');
const plaintext = text('the server never reads this');
const exporterContext = text('exporter context');

/** Open must fail the way an attacker would see it: a KEM or an authentication failure. */
const refusedOpen = (err: unknown) =>
  CryptoError.is(err, 'decrypt-failed') || CryptoError.is(err, 'kem-failed');

const suites = supportedCiphersuites.map((id) => ciphersuiteParams(id)!);

for (const variant of platformVariants) {
  for (const params of suites) {
    describe(`HPKE base mode, ${params.mlsName} on ${variant.name}`, () => {
      const setup = async () => {
        const suite = suiteFor(await variant.platform(), params);
        const recipient = await suite.kem.generateKeyPair();
        const sealed = await suite.seal(recipient.publicKey, info, aad, plaintext);
        return { suite, recipient, ...sealed };
      };

      it('opens what it sealed', async () => {
        const { suite, recipient, enc, ct } = await setup();
        assert.equal(enc.length, suite.kem.encLength);
        assert.equal(ct.length, plaintext.length + 16);
        assert.deepEqual(await suite.open(recipient.secretKey, enc, info, aad, ct), plaintext);
      });

      it('gives sender and recipient the same exported secret, and a new one per encapsulation', async () => {
        const { suite, recipient } = await setup();
        const sent = await suite.sendExport(recipient.publicKey, info, exporterContext, 42);
        const received = await suite.receiveExport(recipient.secretKey, sent.enc, info, exporterContext, 42);
        assert.equal(sent.secret.length, 42);
        assert.deepEqual(received, sent.secret);
        const again = await suite.sendExport(recipient.publicKey, info, exporterContext, 42);
        assert.notDeepEqual(again.secret, sent.secret);
      });

      it('refuses to open when a bit of enc is flipped', async () => {
        const { suite, recipient, enc, ct } = await setup();
        for (const index of [0, enc.length >> 1, enc.length - 1]) {
          await assert.rejects(
            async () => suite.open(recipient.secretKey, flipBit(enc, index, 2), info, aad, ct),
            refusedOpen,
            `enc byte ${index}`,
          );
        }
      });

      it('refuses to open when a bit of the ciphertext or of the tag is flipped', async () => {
        const { suite, recipient, enc, ct } = await setup();
        for (const index of [0, ct.length - 17, ct.length - 16, ct.length - 1]) {
          await assert.rejects(
            async () => suite.open(recipient.secretKey, enc, info, aad, flipBit(ct, index, 0)),
            (err) => CryptoError.is(err, 'decrypt-failed'),
            `ciphertext byte ${index}`,
          );
        }
      });

      it('refuses to open under a different info or aad', async () => {
        const { suite, recipient, enc, ct } = await setup();
        const decryptFailed = (err: unknown) => CryptoError.is(err, 'decrypt-failed');
        await assert.rejects(
          async () => suite.open(recipient.secretKey, enc, flipBit(info, 3), aad, ct),
          decryptFailed,
        );
        await assert.rejects(
          async () => suite.open(recipient.secretKey, enc, info, flipBit(aad, 3), ct),
          decryptFailed,
        );
        await assert.rejects(
          async () => suite.open(recipient.secretKey, enc, new Uint8Array(0), aad, ct),
          decryptFailed,
        );
      });

      it('refuses to open with another recipient’s key', async () => {
        const { suite, enc, ct } = await setup();
        const other = await suite.kem.generateKeyPair();
        await assert.rejects(async () => suite.open(other.secretKey, enc, info, aad, ct), refusedOpen);
      });

      it('exports a different secret to a recipient given a tampered enc', async () => {
        const { suite, recipient } = await setup();
        const sent = await suite.sendExport(recipient.publicKey, info, exporterContext, 32);
        const tampered = flipBit(sent.enc, 7, 4);
        const received = await suite
          .receiveExport(recipient.secretKey, tampered, info, exporterContext, 32)
          .catch((err: unknown) => {
            assert.ok(CryptoError.is(err, 'kem-failed'), String(err));
            return undefined;
          });
        assert.notDeepEqual(received, sent.secret);
      });

      it('derives the same key pair from the same ikm, and another from another ikm', async () => {
        const { kem } = suiteFor(await variant.platform(), params);
        const ikm = text('input keying material, at least Nsk bytes long');
        const a = await kem.deriveKeyPair(ikm);
        const b = await kem.deriveKeyPair(ikm.slice());
        const c = await kem.deriveKeyPair(flipBit(ikm, 0));
        assert.equal(a.secretKey.length, kem.secretKeyLength);
        assert.equal(a.publicKey.length, kem.publicKeyLength);
        assert.deepEqual(b, a);
        assert.deepEqual(await kem.publicKeyOf(a.secretKey), a.publicKey);
        assert.notDeepEqual(c.secretKey, a.secretKey);
        assert.notDeepEqual(c.publicKey, a.publicKey);
      });
    });
  }
}

// RFC 9180, Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base
// (A.1.1 Base Setup Information, A.1.1.1 Encryptions, sequence number 0, and A.1.1.2 Exported
// Values, empty exporter_context, L = 32). Copied verbatim from the RFC's text.
const rfc9180A11 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
  pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  skEm: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
  ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
  pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
  skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
  enc: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  sharedSecret: 'fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc',
  key: '4531685d41d65f03dc48f6b8302c05b0',
  baseNonce: '56d890e5accaaf011cff4b7d',
  exporterSecret: '45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8',
  encryption0: {
    pt: '4265617574792069732074727574682c20747275746820626561757479',
    aad: '436f756e742d30',
    ct: 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
  },
  export0: {
    exporterContext: '',
    length: 32,
    value: '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee',
  },
} as const;

for (const variant of platformVariants) {
  describe(`RFC 9180 A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM) on ${variant.name}`, () => {
    const v = rfc9180A11;
    const classic = () => ciphersuiteParams(0x0001)!;

    it('derives the RFC’s recipient and ephemeral key pairs from their ikm', async () => {
      const kem = makeDhkemX25519(await variant.platform());
      const recipient = await kem.deriveKeyPair(fromHex(v.ikmR));
      assert.equal(toHex(recipient.secretKey), v.skRm);
      assert.equal(toHex(recipient.publicKey), v.pkRm);
      const ephemeral = await kem.deriveKeyPair(fromHex(v.ikmE));
      assert.equal(toHex(ephemeral.secretKey), v.skEm);
      assert.equal(toHex(ephemeral.publicKey), v.pkEm);
      assert.equal(v.enc, v.pkEm);
    });

    it('decapsulates the RFC’s enc to its shared secret', async () => {
      const kem = makeDhkemX25519(await variant.platform());
      assert.equal(toHex(await kem.decap(fromHex(v.enc), fromHex(v.skRm))), v.sharedSecret);
    });

    it('opens the RFC’s first encryption, and its key and base nonce agree', async () => {
      const platform = await variant.platform();
      const suite = suiteFor(platform, classic());
      const { pt, aad: aad0, ct } = v.encryption0;
      const opened = await suite.open(
        fromHex(v.skRm),
        fromHex(v.enc),
        fromHex(v.info),
        fromHex(aad0),
        fromHex(ct),
      );
      assert.equal(toHex(opened), pt);
      // The key schedule is internal; the RFC's key and base_nonce must open the same bytes.
      const direct = await platform.aesGcmOpen(
        fromHex(v.key),
        fromHex(v.baseNonce),
        fromHex(aad0),
        fromHex(ct),
      );
      assert.equal(toHex(direct), pt);
    });

    it('exports the RFC’s value for an empty exporter context', async () => {
      const suite = suiteFor(await variant.platform(), classic());
      const { exporterContext: context, length, value } = v.export0;
      const exported = await suite.receiveExport(
        fromHex(v.skRm),
        fromHex(v.enc),
        fromHex(v.info),
        fromHex(context),
        length,
      );
      assert.equal(toHex(exported), value);
    });
  });
}
