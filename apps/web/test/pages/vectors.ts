// The crypto known-answer vectors run inside the browser, against @ghostproof/crypto's browser
// build (WebCrypto, and WebCrypto with the @noble/curves fallback) as Vite bundles it for the
// web client. The test loads the vector files in Node and calls `runVectors` with them; the
// page answers with pass/fail counts per group. The judgement of each case is the one of the
// Node tests in packages/crypto/test (named in each group); the MLS checks are those tests'
// own helpers, bundled with node:assert and node:fs replaced (assert-shim.ts, fs-shim.ts).
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import type { CiphersuiteImpl, CryptoProvider } from 'ts-mls';
import { fromHex, toHex } from '@ghostproof/testkit/hex';
import {
  CryptoError,
  createCryptoProvider,
  createPlatformPrimitives,
  isSupportedCiphersuite,
  type HashName,
  type PlatformPrimitives,
} from '@ghostproof/crypto/browser';
import { makeDhkemX25519 } from '../../../../packages/crypto/src/dhkem-x25519.js';
import { makeHkdf } from '../../../../packages/crypto/src/hkdf.js';
import { makeXWingKem, xwingEncapsulateDerand } from '../../../../packages/crypto/src/xwing.js';
import { mlsVectorFiles } from '../../../../packages/crypto/test/helpers/mls-vectors.js';

export interface VectorGroupResult {
  readonly group: string;
  readonly platform: string;
  passed: number;
  failed: number;
  readonly failures: string[];
}

interface WycheproofFile {
  readonly numberOfTests: number;
  readonly testGroups: readonly { readonly tests: readonly Record<string, unknown>[] }[];
}

export interface VectorData {
  readonly wycheproof: Record<string, WycheproofFile>;
  readonly xwing: readonly Record<string, string>[];
  readonly mls: Record<string, readonly { cipher_suite: number }[]>;
}

declare global {
  interface Window {
    runVectors(data: VectorData): Promise<VectorGroupResult[]>;
  }
}

const isZeroHex = (hex: string) => /^(?:00)+$/.test(hex);

function flipBit(bytes: Uint8Array, index = 0, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index] = out[index]! ^ (1 << bit);
  return out;
}

type Case = {
  group: Record<string, unknown>;
  test: Record<string, unknown> & { tcId: number; result: string };
};

function casesOf(file: WycheproofFile | undefined, name: string): Case[] {
  if (!file) throw new Error(`${name}: not passed in`);
  const cases = file.testGroups.flatMap((group) =>
    group.tests.map((test) => ({ group, test: test as Case['test'] })),
  );
  if (cases.length !== file.numberOfTests) throw new Error(`${name}: numberOfTests does not match the cases`);
  return cases;
}

const s = (c: Case, field: string) => {
  const value = c.test[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
};
const n = (c: Case, field: string) => Number(c.group[field]);

class Tally {
  readonly results: VectorGroupResult[] = [];

  group(group: string, platform: string): VectorGroupResult {
    const result: VectorGroupResult = { group, platform, passed: 0, failed: 0, failures: [] };
    this.results.push(result);
    return result;
  }

  async check(result: VectorGroupResult, id: string, run: () => Promise<boolean | void> | boolean | void) {
    let ok: boolean;
    try {
      ok = (await run()) !== false;
    } catch (err) {
      ok = false;
      if (result.failures.length < 5)
        result.failures.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (ok) result.passed++;
    else {
      result.failed++;
      if (result.failures.length < 5 && !result.failures.some((f) => f.startsWith(`${id}:`)))
        result.failures.push(id);
    }
  }
}

async function rejectsWith(promise: Promise<unknown>, codes: readonly string[]): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch (err) {
    return CryptoError.is(err) && codes.includes(err.code);
  }
}

/** packages/crypto/test/wycheproof-aes-gcm.test.ts */
async function aesGcm(t: Tally, p: PlatformPrimitives, platform: string, file: WycheproofFile | undefined) {
  const cases = casesOf(file, 'aes_gcm_test.json');
  const inScope = (c: Case) =>
    n(c, 'ivSize') === 96 && [128, 256].includes(n(c, 'keySize')) && n(c, 'tagSize') === 128;
  const bytes = (c: Case) => ({
    key: fromHex(s(c, 'key')),
    iv: fromHex(s(c, 'iv')),
    aad: fromHex(s(c, 'aad')),
    msg: fromHex(s(c, 'msg')),
    sealed: fromHex(s(c, 'ct') + s(c, 'tag')),
  });
  const valid = t.group('aes-gcm valid', platform);
  const invalid = t.group('aes-gcm invalid', platform);
  const refused = t.group('aes-gcm out of scope', platform);
  for (const c of cases) {
    const { key, iv, aad, msg, sealed } = bytes(c);
    const id = `tcId ${c.test.tcId}`;
    if (inScope(c) && c.test.result === 'valid') {
      await t.check(valid, id, async () => {
        const ours = toHex(await p.aesGcmSeal(key, iv, aad, msg));
        const opened = toHex(await p.aesGcmOpen(key, iv, aad, sealed));
        return ours === s(c, 'ct') + s(c, 'tag') && opened === s(c, 'msg');
      });
    } else if (inScope(c)) {
      await t.check(invalid, id, async () => {
        const forgedOpens = !(await rejectsWith(p.aesGcmOpen(key, iv, aad, sealed), ['decrypt-failed']));
        const reproduced = toHex(await p.aesGcmSeal(key, iv, aad, msg)) === s(c, 'ct') + s(c, 'tag');
        return !forgedOpens && !reproduced;
      });
    } else {
      const codes: string[] = [];
      if (n(c, 'ivSize') !== 96 || n(c, 'tagSize') !== 128) codes.push('invalid-input');
      if (![128, 256].includes(n(c, 'keySize'))) codes.push('invalid-key');
      await t.check(
        refused,
        id,
        async () =>
          (await rejectsWith(p.aesGcmSeal(key, iv, aad, msg), codes)) &&
          (await rejectsWith(p.aesGcmOpen(key, iv, aad, sealed), codes)),
      );
    }
  }
}

/** packages/crypto/test/wycheproof-ed25519.test.ts */
async function ed25519(t: Tally, p: PlatformPrimitives, platform: string, file: WycheproofFile | undefined) {
  const valid = t.group('ed25519 valid', platform);
  const invalid = t.group('ed25519 invalid', platform);
  for (const c of casesOf(file, 'ed25519_test.json')) {
    const pk = fromHex(String((c.group.publicKey as { pk: string }).pk));
    const ok = () => p.ed25519.verify(pk, fromHex(s(c, 'msg')), fromHex(s(c, 'sig')));
    if (c.test.result === 'valid')
      await t.check(valid, `tcId ${c.test.tcId}`, async () => (await ok()) === true);
    else await t.check(invalid, `tcId ${c.test.tcId}`, async () => (await ok()) === false);
  }
}

/** packages/crypto/test/wycheproof-x25519.test.ts */
async function x25519(t: Tally, p: PlatformPrimitives, platform: string, file: WycheproofFile | undefined) {
  const computable = t.group('x25519 shared secret', platform);
  const smallOrder = t.group('x25519 small-order refused', platform);
  const kem = makeDhkemX25519(p);
  for (const c of casesOf(file, 'x25519_test.json')) {
    const priv = fromHex(s(c, 'private'));
    const pub = fromHex(s(c, 'public'));
    const id = `tcId ${c.test.tcId}`;
    if (c.test.result === 'invalid') {
      await t.check(computable, id, () => false); // none expected; a new kind must be judged
    } else if (!isZeroHex(s(c, 'shared'))) {
      await t.check(
        computable,
        id,
        async () => toHex(await p.x25519.sharedSecret(priv, pub)) === s(c, 'shared'),
      );
    } else {
      await t.check(smallOrder, id, async () => {
        let zeroOrRefused = true;
        try {
          zeroOrRefused = toHex(await p.x25519.sharedSecret(priv, pub)) === s(c, 'shared');
        } catch {
          // refusing the key outright is fine
        }
        return (
          zeroOrRefused &&
          (await rejectsWith(kem.decap(pub, priv), ['kem-failed'])) &&
          (await rejectsWith(kem.encap(pub), ['kem-failed']))
        );
      });
    }
  }
}

/** packages/crypto/test/wycheproof-hkdf.test.ts */
async function hkdf(t: Tally, p: PlatformPrimitives, platform: string, data: VectorData) {
  for (const [name, hash] of [
    ['hkdf_sha256_test.json', 'SHA-256'],
    ['hkdf_sha512_test.json', 'SHA-512'],
  ] as const satisfies readonly (readonly [string, HashName])[]) {
    const valid = t.group(`${name} valid`, platform);
    const invalid = t.group(`${name} invalid`, platform);
    const kdf = makeHkdf(p, hash);
    const derive = async (c: Case) =>
      kdf.expand(
        await kdf.extract(fromHex(s(c, 'salt')), fromHex(s(c, 'ikm'))),
        fromHex(s(c, 'info')),
        Number(c.test.size),
      );
    for (const c of casesOf(data.wycheproof[name], name)) {
      if (c.test.result === 'valid') {
        await t.check(valid, `tcId ${c.test.tcId}`, async () => toHex(await derive(c)) === s(c, 'okm'));
      } else {
        await t.check(invalid, `tcId ${c.test.tcId}`, () => rejectsWith(derive(c), ['invalid-input']));
      }
    }
  }
}

/** packages/crypto/test/wycheproof-hmac-sha256.test.ts */
async function hmac(t: Tally, p: PlatformPrimitives, platform: string, file: WycheproofFile | undefined) {
  const valid = t.group('hmac-sha256 valid', platform);
  const invalid = t.group('hmac-sha256 invalid', platform);
  for (const c of casesOf(file, 'hmac_sha256_test.json')) {
    const tag = async () =>
      toHex(
        (await p.hmac('SHA-256', fromHex(s(c, 'key')), fromHex(s(c, 'msg')))).subarray(
          0,
          n(c, 'tagSize') / 8,
        ),
      );
    if (c.test.result === 'valid')
      await t.check(valid, `tcId ${c.test.tcId}`, async () => (await tag()) === s(c, 'tag'));
    else await t.check(invalid, `tcId ${c.test.tcId}`, async () => (await tag()) !== s(c, 'tag'));
  }
}

/** packages/crypto/test/xwing.test.ts ("on each platform") */
async function xwing(
  t: Tally,
  p: PlatformPrimitives,
  platform: string,
  vectors: readonly Record<string, string>[],
) {
  const result = t.group('x-wing', platform);
  const kem = makeXWingKem(p);
  for (const [i, v] of vectors.entries()) {
    await t.check(result, `vector ${i}`, async () => {
      const pk = toHex(await kem.publicKeyOf(fromHex(v.seed!)));
      const { enc, sharedSecret } = await xwingEncapsulateDerand(p, fromHex(v.pk!), fromHex(v.eseed!));
      const ss = toHex(await kem.decap(fromHex(v.ct!), fromHex(v.sk!)));
      return pk === v.pk && toHex(enc) === v.ct && toHex(sharedSecret) === v.ss && ss === v.ss;
    });
  }
}

/** packages/crypto/test/mls-crypto-vectors.test.ts, with that test's own check functions. */
async function mls(t: Tally, provider: CryptoProvider, platform: string, data: VectorData) {
  for (const [file, check] of Object.entries(mlsVectorFiles)) {
    const result = t.group(`mls ${file}`, platform);
    const vectors = (data.mls[file] ?? []).filter((v) => isSupportedCiphersuite(v.cipher_suite));
    for (const [i, vector] of vectors.entries()) {
      await t.check(result, `vector ${i}`, async () => {
        const impl = await provider.getCiphersuiteImpl(vector.cipher_suite);
        await (check as (impl: CiphersuiteImpl, v: never) => Promise<void>)(impl, vector as never);
      });
    }
  }
}

/** packages/crypto/test/wycheproof-mlkem-768.test.ts (@noble/post-quantum, bundled) */
async function mlkem(t: Tally, file: WycheproofFile | undefined) {
  const result = t.group('ml-kem-768', 'noble');
  for (const c of casesOf(file, 'mlkem_768_test.json')) {
    const seed = fromHex(s(c, 'seed'));
    const ct = fromHex(s(c, 'c'));
    await t.check(result, `tcId ${c.test.tcId}`, () => {
      if (c.test.result === 'invalid') {
        try {
          const { secretKey } = ml_kem768.keygen(seed);
          ml_kem768.decapsulate(ct, secretKey);
          return false;
        } catch {
          return true;
        }
      }
      const { publicKey, secretKey } = ml_kem768.keygen(seed);
      if (c.test.ek !== undefined && toHex(publicKey) !== s(c, 'ek')) return false;
      return toHex(ml_kem768.decapsulate(ct, secretKey)) === s(c, 'K');
    });
  }
}

/** The checks can fail: the same vectors against deliberately broken back ends. */
async function negativeControls(t: Tally, p: PlatformPrimitives, data: VectorData) {
  const aes = t.group('negative control: AES-GCM seal with one flipped bit is caught', 'WebCrypto');
  for (const c of casesOf(data.wycheproof['aes_gcm_test.json'], 'aes_gcm_test.json')) {
    if (c.test.result !== 'valid' || n(c, 'ivSize') !== 96 || n(c, 'tagSize') !== 128) continue;
    if (![128, 256].includes(n(c, 'keySize'))) continue;
    await t.check(aes, `tcId ${c.test.tcId}`, async () => {
      const broken = flipBit(
        await p.aesGcmSeal(
          fromHex(s(c, 'key')),
          fromHex(s(c, 'iv')),
          fromHex(s(c, 'aad')),
          fromHex(s(c, 'msg')),
        ),
      );
      return toHex(broken) !== s(c, 'ct') + s(c, 'tag');
    });
  }
  const provider = await createCryptoProvider();
  const broken: CryptoProvider = {
    async getCiphersuiteImpl(id) {
      const impl = await provider.getCiphersuiteImpl(id);
      const expand: CiphersuiteImpl['kdf']['expand'] = async (...args) =>
        flipBit(await impl.kdf.expand(...args));
      return { ...impl, kdf: { ...impl.kdf, expand } };
    },
  };
  for (const file of ['crypto-basics', 'key-schedule'] as const) {
    const result = t.group(`negative control: mls ${file} with one flipped HKDF bit is caught`, 'WebCrypto');
    const check = mlsVectorFiles[file] as (impl: CiphersuiteImpl, v: never) => Promise<void>;
    const vectors = (data.mls[file] ?? []).filter((v) => isSupportedCiphersuite(v.cipher_suite));
    for (const [i, vector] of vectors.entries()) {
      await t.check(result, `vector ${i}`, async () => {
        try {
          await check(await broken.getCiphersuiteImpl(vector.cipher_suite), vector as never);
          return false;
        } catch {
          return true;
        }
      });
    }
  }
}

window.runVectors = async (data) => {
  const status = document.getElementById('status');
  const t = new Tally();
  for (const forceNobleCurves of [false, true]) {
    const p = await createPlatformPrimitives({ forceNobleCurves });
    const provider = await createCryptoProvider({ forceNobleCurves });
    if (status) status.textContent = `Running on ${p.name}`;
    await aesGcm(t, p, p.name, data.wycheproof['aes_gcm_test.json']);
    await ed25519(t, p, p.name, data.wycheproof['ed25519_test.json']);
    await x25519(t, p, p.name, data.wycheproof['x25519_test.json']);
    await hkdf(t, p, p.name, data);
    await hmac(t, p, p.name, data.wycheproof['hmac_sha256_test.json']);
    await xwing(t, p, p.name, data.xwing);
    await mls(t, provider, p.name, data);
  }
  await mlkem(t, data.wycheproof['mlkem_768_test.json']);
  await negativeControls(t, await createPlatformPrimitives(), data);
  if (status) status.textContent = 'Done';
  return t.results;
};
