import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  decode,
  defaultCapabilities,
  defaultCredentialTypes,
  createCommit,
  createGroup,
  defaultProposalTypes,
  generateKeyPackage,
  mlsMessageDecoder,
  type KeyPackage,
} from 'ts-mls';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  ApiError,
  ContentType,
  encodeKeyPackage,
  encodePrivateMessage,
  encodeWelcome,
  keyPackageRef,
  keyPackageSignatureInput,
  parseKeyPackage,
  parseWelcome,
  readMlsMessageHeader,
  WireFormat,
  type Digest,
} from '@ghostproof/api';
import { mlsSamples, suites, type MlsSamples } from './helpers/ts-mls.js';
import { fromHex, loadMlsVectors, seededRandom } from './helpers/vectors.js';

const digest: Digest = (hash, data) => platformPrimitives.digest(hash, data);
const ed = platformPrimitives.ed25519;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function isTyped(code?: string) {
  return (e: unknown) => ApiError.is(e) && (code === undefined || e.code === code);
}

for (const suite of suites) {
  describe(`MLS parsers on ts-mls messages (${suite.name})`, () => {
    let s: MlsSamples;
    before(async () => {
      s = await mlsSamples(suite.name);
    });

    it('reads group id, epoch and content type of a PrivateMessage commit and application message', () => {
      const commit = readMlsMessageHeader(s.commit);
      assert.equal(commit.wireFormat, WireFormat.PrivateMessage);
      assert.ok('groupId' in commit);
      assert.deepEqual(commit.groupId, s.groupId);
      assert.equal(commit.epoch, s.commitEpoch);
      assert.equal(commit.contentType, ContentType.Commit);
      const app = readMlsMessageHeader(s.application);
      assert.ok('groupId' in app);
      assert.equal(app.wireFormat, WireFormat.PrivateMessage);
      assert.equal(app.epoch, s.applicationEpoch);
      assert.equal(app.contentType, ContentType.Application);
    });

    it('reads a PublicMessage commit header so that the server can refuse it', () => {
      const header = readMlsMessageHeader(s.publicCommit);
      assert.equal(header.wireFormat, WireFormat.PublicMessage);
      assert.ok('contentType' in header);
      assert.equal(header.contentType, ContentType.Commit);
    });

    it("lists a Welcome's KeyPackageRefs exactly as ts-mls computes them", () => {
      const welcome = parseWelcome(s.welcome);
      assert.equal(welcome.cipherSuite, suite.id);
      assert.deepEqual(new Set(welcome.keyPackageRefs.map(hex)), new Set(s.addedRefs.map(hex)));
      for (const ref of welcome.keyPackageRefs) assert.equal(ref.length, suite.refLength);
    });

    it('computes KeyPackageRef as ts-mls does and verifies the package signature', async () => {
      for (const [i, message] of s.keyPackageMessages.entries()) {
        const parsed = parseKeyPackage(message);
        const kp = s.keyPackages[i]!;
        assert.equal(parsed.cipherSuite, suite.id);
        assert.deepEqual(parsed.signatureKey, kp.leafNode.signaturePublicKey);
        assert.deepEqual(parsed.initKey, kp.initKey);
        assert.equal(parsed.credentialType, defaultCredentialTypes.basic);
        if (kp.leafNode.leafNodeSource !== 1) throw new Error('expected a key package leaf');
        assert.equal(parsed.notAfter, kp.leafNode.lifetime.notAfter);
        if (i > 0) assert.equal(hex(await keyPackageRef(parsed, digest)), hex(s.addedRefs[i - 1]!));
        assert.ok(await ed.verify(parsed.signatureKey, keyPackageSignatureInput(parsed), parsed.signature));
        const tampered = parsed.tbs.slice();
        tampered[tampered.length - 3]! ^= 1;
        assert.equal(
          await ed.verify(parsed.signatureKey, keyPackageSignatureInput({ tbs: tampered }), parsed.signature),
          false,
        );
      }
    });

    it('rejects every truncation and any trailing byte with a typed error', () => {
      const inputs: [string, (b: Uint8Array) => unknown][] = [
        ['commit', (b) => readMlsMessageHeader(b)],
        ['welcome', (b) => parseWelcome(b)],
        ['key package', (b) => parseKeyPackage(b)],
      ];
      const samples: Record<string, Uint8Array> = {
        commit: s.commit,
        welcome: s.welcome,
        'key package': s.keyPackageMessages[0]!,
      };
      for (const [name, parse] of inputs) {
        const full = samples[name]!;
        // Every cut of the first 300 bytes, then a sample of the rest (bounded run time).
        for (let cut = 0; cut < full.length; cut += cut < 300 ? 1 : 97) {
          assert.throws(() => parse(full.subarray(0, cut)), isTyped('malformed'), `${name} cut at ${cut}`);
        }
        const padded = new Uint8Array(full.length + 1);
        padded.set(full);
        assert.throws(() => parse(padded), isTyped('malformed'), `${name} with a trailing byte`);
      }
    });

    it('refuses inputs over the size limit before reading them', () => {
      assert.throws(
        () => readMlsMessageHeader(s.commit, { maxBytes: s.commit.length - 1 }),
        isTyped('too-large'),
      );
      assert.throws(() => parseWelcome(s.welcome, { maxBytes: 100 }), isTyped('too-large'));
      assert.throws(() => parseKeyPackage(s.keyPackageMessages[0]!, { maxBytes: 100 }), isTyped('too-large'));
      assert.throws(() => parseWelcome(s.welcome, { maxWelcomeSecrets: 1 }), isTyped('malformed'));
    });
  });
}

interface MessagesVector {
  mls_welcome: string;
  mls_group_info: string;
  mls_key_package: string;
  public_message_application: string;
  public_message_proposal: string;
  public_message_commit: string;
  private_message: string;
}

describe('MLS parsers on the RFC 9420 `messages` vectors', () => {
  const vectors = loadMlsVectors<MessagesVector>('messages.json');

  it('reads every PrivateMessage and PublicMessage header', () => {
    for (const v of vectors) {
      const priv = readMlsMessageHeader(fromHex(v.private_message));
      assert.equal(priv.wireFormat, WireFormat.PrivateMessage);
      for (const [field, type] of [
        ['public_message_application', ContentType.Application],
        ['public_message_proposal', ContentType.Proposal],
        ['public_message_commit', ContentType.Commit],
      ] as const) {
        const header = readMlsMessageHeader(fromHex(v[field]));
        assert.equal(header.wireFormat, WireFormat.PublicMessage);
        assert.ok('contentType' in header);
        assert.equal(header.contentType, type);
      }
      assert.equal(readMlsMessageHeader(fromHex(v.mls_group_info)).wireFormat, WireFormat.GroupInfo);
    }
  });

  it('parses every Welcome and KeyPackage whole', () => {
    for (const v of vectors) {
      const welcomeBytes = fromHex(v.mls_welcome);
      const welcome = parseWelcome(welcomeBytes);
      assert.equal(welcome.cipherSuite, (welcomeBytes[4]! << 8) | welcomeBytes[5]!);
      assert.ok(welcome.keyPackageRefs.length > 0);
      const kpBytes = fromHex(v.mls_key_package);
      const kp = parseKeyPackage(kpBytes);
      assert.equal(kp.cipherSuite, (kpBytes[6]! << 8) | kpBytes[7]!);
      assert.equal(readMlsMessageHeader(fromHex(v.mls_key_package)).wireFormat, WireFormat.KeyPackage);
    }
  });

  it('the `welcome` vectors: the KeyPackageRef of the key package is the one the Welcome names', async () => {
    const welcomeVectors = loadMlsVectors<{ cipher_suite: number; key_package: string; welcome: string }>(
      'welcome.json',
    );
    let checked = 0;
    for (const v of welcomeVectors) {
      const kp = parseKeyPackage(fromHex(v.key_package));
      const welcome = parseWelcome(fromHex(v.welcome));
      assert.equal(kp.cipherSuite, v.cipher_suite);
      assert.equal(welcome.cipherSuite, v.cipher_suite);
      if (kp.cipherSuite > 6) continue; // suites whose hash the parser does not know
      const ref = await keyPackageRef(kp, digest);
      assert.ok(welcome.keyPackageRefs.some((r) => hex(r) === hex(ref)));
      checked++;
    }
    assert.ok(checked > 0);
  });
});

describe('MLS parsers on garbage', () => {
  it('refuse an invalid length prefix and lengths not minimally encoded', () => {
    const base = encodePrivateMessage({
      groupId: new Uint8Array([1, 2, 3]),
      epoch: 5n,
      contentType: ContentType.Application,
      encryptedSenderData: new Uint8Array(4),
      ciphertext: new Uint8Array(10),
    });
    assert.equal(readMlsMessageHeader(base).wireFormat, WireFormat.PrivateMessage);
    const invalidPrefix = base.slice();
    invalidPrefix[4] = 0xc0;
    assert.throws(() => readMlsMessageHeader(invalidPrefix), isTyped('malformed'));
    // group id length 3 written in two bytes (0x40 0x03)
    const nonMinimal = new Uint8Array([...base.subarray(0, 4), 0x40, 0x03, ...base.subarray(5)]);
    assert.throws(() => readMlsMessageHeader(nonMinimal), isTyped('malformed'));
  });

  it('refuse unknown versions and wire formats as unsupported, unknown content types as malformed', () => {
    assert.throws(() => readMlsMessageHeader(new Uint8Array([0, 2, 0, 2])), isTyped('unsupported'));
    assert.throws(() => readMlsMessageHeader(new Uint8Array([0, 1, 0, 9])), isTyped('unsupported'));
    const bad = encodePrivateMessage({
      groupId: new Uint8Array([1]),
      epoch: 0n,
      contentType: 7 as never,
      encryptedSenderData: new Uint8Array(1),
      ciphertext: new Uint8Array(1),
    });
    assert.throws(() => readMlsMessageHeader(bad), isTyped('malformed'));
    assert.throws(() => readMlsMessageHeader('nope' as never), isTyped('malformed'));
  });

  it('a Welcome with duplicate or wrongly sized references is malformed', () => {
    const secret = {
      keyPackageRef: new Uint8Array(32).fill(1),
      kemOutput: new Uint8Array(32),
      ciphertext: new Uint8Array(48),
    };
    const ok = encodeWelcome({ cipherSuite: 1, secrets: [secret], encryptedGroupInfo: new Uint8Array(10) });
    assert.equal(parseWelcome(ok).keyPackageRefs.length, 1);
    const dup = encodeWelcome({
      cipherSuite: 1,
      secrets: [secret, secret],
      encryptedGroupInfo: new Uint8Array(10),
    });
    assert.throws(() => parseWelcome(dup), isTyped('malformed'));
    const short = encodeWelcome({
      cipherSuite: 1,
      secrets: [{ ...secret, keyPackageRef: new Uint8Array(31) }],
      encryptedGroupInfo: new Uint8Array(10),
    });
    assert.throws(() => parseWelcome(short), isTyped('malformed'));
    const none = encodeWelcome({ cipherSuite: 1, secrets: [], encryptedGroupInfo: new Uint8Array(10) });
    assert.throws(() => parseWelcome(none), isTyped('malformed'));
  });

  it('seeded fuzz: mutated and random inputs give a typed error or a result, never anything else', async () => {
    const s = await mlsSamples(suites[1].name);
    const vectors = loadMlsVectors<MessagesVector>('messages.json').slice(0, 3);
    const seeds = [
      s.commit,
      s.welcome,
      s.keyPackageMessages[0]!,
      s.application,
      ...vectors.map((v) => fromHex(v.mls_welcome)),
    ];
    const parsers = [
      (b: Uint8Array) => readMlsMessageHeader(b),
      (b: Uint8Array) => parseWelcome(b),
      (b: Uint8Array) => parseKeyPackage(b),
    ];
    const random = seededRandom(0x5eed);
    const int = (n: number) => Math.floor(random() * n);
    for (let i = 0; i < 3000; i++) {
      let input: Uint8Array;
      if (i % 10 === 0) {
        input = new Uint8Array(int(200)).map(() => int(256));
      } else {
        input = seeds[int(seeds.length)]!.slice();
        const mutations = 1 + int(4);
        for (let m = 0; m < mutations; m++) {
          const at = int(Math.min(input.length, 400));
          const kind = int(4);
          if (kind === 0) input[at]! ^= 1 << int(8);
          else if (kind === 1) input[at] = int(256);
          else if (kind === 2) input = input.subarray(0, int(input.length + 1));
          else input = new Uint8Array([...input.subarray(0, at), int(256), ...input.subarray(at)]);
        }
      }
      for (const parse of parsers) {
        try {
          parse(input);
        } catch (e) {
          assert.ok(ApiError.is(e), `iteration ${i}: ${String(e)}`);
        }
      }
    }
  });
});

describe('MLS encoders agree with ts-mls', () => {
  it('ts-mls decodes our PrivateMessage and Welcome encodings', () => {
    const pm = encodePrivateMessage({
      groupId: new Uint8Array(16).fill(7),
      epoch: 42n,
      contentType: ContentType.Commit,
      encryptedSenderData: new Uint8Array(20),
      ciphertext: new Uint8Array(300),
    });
    const decoded = decode(mlsMessageDecoder, pm);
    assert.ok(decoded && decoded.wireformat === 2);
    assert.equal(decoded.privateMessage.epoch, 42n);
    const welcome = encodeWelcome({
      cipherSuite: 1,
      secrets: [
        { keyPackageRef: new Uint8Array(32), kemOutput: new Uint8Array(32), ciphertext: new Uint8Array(64) },
      ],
      encryptedGroupInfo: new Uint8Array(100),
    });
    const decodedWelcome = decode(mlsMessageDecoder, welcome);
    assert.ok(decodedWelcome && decodedWelcome.wireformat === 3);
    assert.equal(decodedWelcome.welcome.secrets.length, 1);
  });

  it('a KeyPackage from encodeKeyPackage is accepted by ts-mls in an Add commit', async () => {
    const s = await mlsSamples(suites[1].name);
    // Borrow real HPKE keys from a ts-mls key package; sign with a fresh Ed25519 key.
    const donor = await generateKeyPackage({
      credential: { credentialType: defaultCredentialTypes.basic, identity: new Uint8Array([1]) },
      capabilities: defaultCapabilities(),
      cipherSuite: s.context.cipherSuite,
    });
    const signer = await ed.generate();
    const now = BigInt(Math.floor(Date.now() / 1000));
    const bytes = await encodeKeyPackage(
      {
        cipherSuite: 1,
        initKey: donor.publicPackage.initKey,
        encryptionKey: donor.publicPackage.leafNode.hpkePublicKey,
        signatureKey: signer.publicKey,
        identity: new TextEncoder().encode('dave'),
        notBefore: now - 60n,
        notAfter: now + 86_400n,
      },
      (message) => ed.sign(signer.secretKey, message),
    );
    const parsed = parseKeyPackage(bytes);
    assert.deepEqual(parsed.signatureKey, signer.publicKey);
    const decoded = decode(mlsMessageDecoder, bytes);
    assert.ok(decoded && decoded.wireformat === 5);
    const keyPackage: KeyPackage = decoded.keyPackage;
    const state = await createGroup({
      context: s.context,
      groupId: new Uint8Array(8),
      keyPackage: s.keyPackages[0]!,
      privateKeyPackage: s.privatePackages[0]!,
    });
    const { welcome } = await createCommit({
      context: s.context,
      state,
      extraProposals: [{ proposalType: defaultProposalTypes.add, add: { keyPackage } }],
    });
    assert.ok(welcome);
  });
});
