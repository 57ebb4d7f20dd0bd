// Checks for the MLS interoperability vectors (RFC 9420 test vectors, FORMAT.md beside them)
// that exercise ts-mls's protocol steps on top of a crypto provider: tree-math,
// tree-operations, tree-validation, treekem, welcome, messages, deserialization and the three
// passive-client files. Each check follows every verification bullet of FORMAT.md for its
// file and throws on the first mismatch, so the same checks can show that a broken provider
// (or a corrupted vector) fails them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bytesToBase64,
  contentTypes,
  defaultProposalTypes,
  encode,
  InternalError,
  isDefaultProposal,
  joinGroup,
  makeKeyPackageRef,
  mlsMessageDecoder,
  mlsMessageEncoder,
  nodeTypes,
  processMessage,
  processPrivateMessage,
  protocolVersions,
  unsafeTestingAuthenticationService,
  wireformats,
  type CiphersuiteImpl,
  type ClientState,
  type ContentTypeValue,
  type CryptoProvider,
  type Decoder,
  type Encoder,
  type KeyPackage,
  type MlsContext,
  type MlsMessage,
  type RatchetTree,
} from 'ts-mls';
import { cryptoProvider, isSupportedCiphersuite } from '@ghostproof/crypto';
import { createCryptoProvider as createWebCryptoProvider } from '@ghostproof/crypto/browser';
import { clientConfig } from './mls-group.js';
import { hex, loadVectorFile } from './mls-vectors.js';
import {
  addDecoder,
  addEncoder,
  addLeafNodeMutable,
  applyUpdatePath,
  applyUpdatePathSecret,
  commitDecoder,
  commitEncoder,
  createUpdatePath,
  decryptGroupInfo,
  decryptGroupSecrets,
  deriveKeySchedule,
  deriveSecret,
  determineLength,
  externalInitDecoder,
  externalInitEncoder,
  getCommitSecret,
  getHpkePublicKey,
  groupContextExtensionsDecoder,
  groupContextExtensionsEncoder,
  groupSecretsDecoder,
  groupSecretsEncoder,
  left,
  leafToNodeIndex,
  leafWidth,
  lengthEncoder,
  nodeWidth,
  parent,
  proposalDecoder,
  pskDecoder,
  pskEncoder,
  ratchetTreeDecoder,
  ratchetTreeEncoder,
  reinitDecoder,
  reinitEncoder,
  removeDecoder,
  removeEncoder,
  removeLeafNodeMutable,
  resolution,
  right,
  root,
  sibling,
  signWithLabel,
  toLeafIndex,
  toNodeIndex,
  toPrivateKeyPath,
  treeHash,
  treeHashRoot,
  updateDecoder,
  updateEncoder,
  updateLeafNodeMutable,
  updatePathDecoder,
  validateRatchetTree,
  verifyGroupInfoSignature,
  verifyLeafNodeSignature,
  verifyParentHashes,
  verifyWithLabel,
  type GroupContext,
  type PathSecrets,
} from './ts-mls-internals.js';

interface Suite {
  cipher_suite: number;
}

// --- providers -----------------------------------------------------------------------

/** Every back end of our provider, as the crypto vectors run them. */
export const vectorProviders: readonly (readonly [string, () => Promise<CryptoProvider>])[] = [
  ['node:crypto', () => Promise.resolve(cryptoProvider)],
  ['WebCrypto', () => createWebCryptoProvider()],
  ['WebCrypto with noble curves', () => createWebCryptoProvider({ forceNobleCurves: true })],
];

export type BrokenPart = 'HKDF-Expand' | 'HPKE open' | 'digest';

function flipFirstBit(out: Uint8Array): Uint8Array {
  out[0]! ^= 1;
  return out;
}

/** Our node:crypto provider with the lowest bit of one primitive's every output flipped. */
export function providerWithFlippedBit(part: BrokenPart): CryptoProvider {
  return {
    async getCiphersuiteImpl(id) {
      const impl = await cryptoProvider.getCiphersuiteImpl(id);
      switch (part) {
        case 'HKDF-Expand': {
          const expand: CiphersuiteImpl['kdf']['expand'] = async (...args) =>
            flipFirstBit(await impl.kdf.expand(...args));
          return { ...impl, kdf: { ...impl.kdf, expand } };
        }
        case 'HPKE open': {
          const open: CiphersuiteImpl['hpke']['open'] = async (...args) =>
            flipFirstBit(await impl.hpke.open(...args));
          return { ...impl, hpke: { ...impl.hpke, open } };
        }
        case 'digest': {
          const digest: CiphersuiteImpl['hash']['digest'] = async (data) =>
            flipFirstBit(await impl.hash.digest(data));
          return { ...impl, hash: { ...impl.hash, digest } };
        }
      }
    },
  };
}

/** What one vector file's tests pin: its size, how many vectors we can run, which controls. */
export interface VectorFileSpec<V extends Suite> {
  readonly file: string;
  readonly check: (impl: CiphersuiteImpl, vector: V) => Promise<void>;
  /** Vectors in the file, and how many are of a ciphersuite we support (the rest are skipped). */
  readonly total: number;
  readonly supported: number;
  /** Each broken provider must fail every supported vector. */
  readonly controls: readonly BrokenPart[];
}

/**
 * The tests of one vector file with a ciphersuite per vector: pinned counts (a file with no
 * supported vector fails here instead of passing empty), every supported vector on each back
 * end, and the negative controls.
 */
export function describeVectorFile<V extends Suite>(spec: VectorFileSpec<V>): void {
  describe(`MLS ${spec.file} vectors`, () => {
    const vectors = loadVectorFile<V[]>(`mls/${spec.file}.json`);
    const supported = vectors.filter((v) => isSupportedCiphersuite(v.cipher_suite));
    const skippedSuites = [...new Set(vectors.map((v) => v.cipher_suite))].filter(
      (suite) => !isSupportedCiphersuite(suite),
    );

    const skipped = spec.total - spec.supported;
    it(`runs the ${spec.supported} of ${spec.total} vectors whose ciphersuite we support, skips ${skipped}`, async () => {
      assert.equal(vectors.length, spec.total, 'vectors in the file');
      assert.equal(supported.length, spec.supported, 'vectors of a supported ciphersuite');
      assert.ok(supported.length > 0, `${spec.file} has no vector of a supported ciphersuite`);
      // The skipped vectors are of suites our provider refuses (P-256, X448, ChaCha20, ...).
      for (const suite of skippedSuites) await assert.rejects(cryptoProvider.getCiphersuiteImpl(suite));
    });

    for (const [name, makeProvider] of vectorProviders) {
      it(`passes every supported vector with the ${name} provider`, async () => {
        const provider = await makeProvider();
        for (const [i, vector] of supported.entries()) {
          const impl = await provider.getCiphersuiteImpl(vector.cipher_suite);
          try {
            await spec.check(impl, vector);
          } catch (err) {
            throw new Error(`${spec.file} supported vector ${i} failed`, { cause: err });
          }
        }
      });
    }

    for (const part of spec.controls) {
      it(`fails every supported vector with a provider whose ${part} has one flipped bit`, async () => {
        const provider = providerWithFlippedBit(part);
        let failures = 0;
        for (const vector of supported) {
          const impl = await provider.getCiphersuiteImpl(vector.cipher_suite);
          await spec.check(impl, vector).catch(() => failures++);
        }
        assert.equal(failures, supported.length, `${failures} of ${supported.length} failed`);
      });
    }
  });
}

// --- shared --------------------------------------------------------------------------

/** Decodes `bytes` as one whole `what`: a decoder that stops early, or fails, throws. */
function decodeAll<T>(decoder: Decoder<T>, bytes: Uint8Array, what: string): T {
  const result = decoder(bytes, 0);
  if (result === undefined) throw new Error(`could not decode ${what}`);
  const [value, consumed] = result;
  if (consumed !== bytes.length) throw new Error(`${what}: ${bytes.length - consumed} bytes left over`);
  return value;
}

type MessageOf<W extends MlsMessage['wireformat']> = Extract<MlsMessage, { wireformat: W }>;

function mlsMessage<W extends MlsMessage['wireformat']>(bytes: Uint8Array, wireformat: W, what: string) {
  const message = decodeAll(mlsMessageDecoder, bytes, what);
  if (message.wireformat !== wireformat) {
    throw new Error(`${what}: wire format ${message.wireformat}, expected ${wireformat}`);
  }
  return message as MessageOf<W>;
}

function keyPackageOf(bytes: Uint8Array, what: string): KeyPackage {
  return mlsMessage(bytes, wireformats.mls_key_package, what).keyPackage;
}

/** An HPKE private key belongs to a public key if what is sealed to one opens with the other. */
async function assertHpkeKeyPair(
  impl: CiphersuiteImpl,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  what: string,
): Promise<void> {
  const probe = impl.rng.randomBytes(16);
  const info = new TextEncoder().encode('ghostproof key pair check');
  const { ct, enc } = await impl.hpke.seal(await impl.hpke.importPublicKey(publicKey), probe, info);
  let opened: Uint8Array | undefined;
  try {
    opened = await impl.hpke.open(await impl.hpke.importPrivateKey(privateKey), enc, ct, info);
  } catch (cause) {
    throw new Error(`${what}: the private key does not open what is sealed to the public key`, { cause });
  }
  assert.deepEqual(opened, probe, `${what}: the private key does not match the public key`);
}

async function assertSignatureKeyPair(
  impl: CiphersuiteImpl,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  what: string,
): Promise<void> {
  const content = impl.rng.randomBytes(16);
  const signature = await signWithLabel(privateKey, 'ghostproof key pair check', content, impl.signature);
  assert.ok(
    await verifyWithLabel(publicKey, 'ghostproof key pair check', content, signature, impl.signature),
    `${what}: the private key does not match the public key`,
  );
}

function nodeName(i: number): string {
  return `node ${i}`;
}

// --- tree-math -----------------------------------------------------------------------

export interface TreeMathVector {
  n_leaves: number;
  n_nodes: number;
  root: number;
  left: (number | null)[];
  right: (number | null)[];
  parent: (number | null)[];
  sibling: (number | null)[];
}

/** ts-mls throws an InternalError where a relation does not exist; the vectors write null. */
function relation(compute: () => number): number | null {
  try {
    return compute();
  } catch (err) {
    if (err instanceof InternalError) return null;
    throw err;
  }
}

export function checkTreeMath(v: TreeMathVector): void {
  const leaves = v.n_leaves;
  assert.equal(nodeWidth(leaves), v.n_nodes, `n_nodes for ${leaves} leaves`);
  assert.equal(root(leaves), v.root, `root for ${leaves} leaves`);
  const relations = [
    ['left', v.left, (i: number) => left(toNodeIndex(i))],
    ['right', v.right, (i: number) => right(toNodeIndex(i))],
    ['parent', v.parent, (i: number) => parent(toNodeIndex(i), leaves)],
    ['sibling', v.sibling, (i: number) => sibling(toNodeIndex(i), leaves)],
  ] as const;
  for (const [name, expected, compute] of relations) {
    assert.equal(expected.length, v.n_nodes, `${name} has one entry per node`);
    for (const [i, want] of expected.entries()) {
      assert.equal(
        relation(() => compute(i)),
        want,
        `${name}[${i}] for ${leaves} leaves`,
      );
    }
  }
}

// --- tree-operations -----------------------------------------------------------------

export interface TreeOperationsVector extends Suite {
  tree_before: string;
  proposal: string;
  proposal_sender: number;
  tree_hash_before: string;
  tree_after: string;
  tree_hash_after: string;
}

export async function checkTreeOperations(impl: CiphersuiteImpl, v: TreeOperationsVector): Promise<void> {
  const tree = decodeAll(ratchetTreeDecoder, hex(v.tree_before), 'tree_before');
  assert.deepEqual(await treeHashRoot(tree, impl.hash), hex(v.tree_hash_before), 'tree_hash_before');
  const proposal = decodeAll(proposalDecoder, hex(v.proposal), 'proposal');
  if (!isDefaultProposal(proposal)) throw new Error(`unexpected proposal type ${proposal.proposalType}`);
  // The same tree edits ts-mls makes when it applies a commit's proposals.
  switch (proposal.proposalType) {
    case defaultProposalTypes.add:
      addLeafNodeMutable(tree, proposal.add.keyPackage.leafNode);
      break;
    case defaultProposalTypes.update:
      updateLeafNodeMutable(tree, proposal.update.leafNode, toLeafIndex(v.proposal_sender));
      break;
    case defaultProposalTypes.remove:
      removeLeafNodeMutable(tree, toLeafIndex(proposal.remove.removed));
      break;
    default:
      throw new Error(`tree-operations has no ${proposal.proposalType} proposals`);
  }
  assert.deepEqual(encode(ratchetTreeEncoder, tree), hex(v.tree_after), 'tree_after');
  assert.deepEqual(await treeHashRoot(tree, impl.hash), hex(v.tree_hash_after), 'tree_hash_after');
}

// --- tree-validation -----------------------------------------------------------------

export interface TreeValidationVector extends Suite {
  tree: string;
  group_id: string;
  resolutions: number[][];
  tree_hashes: string[];
}

export async function checkTreeValidation(impl: CiphersuiteImpl, v: TreeValidationVector): Promise<void> {
  const tree = decodeAll(ratchetTreeDecoder, hex(v.tree), 'tree');
  const groupId = hex(v.group_id);
  assert.equal(v.resolutions.length, tree.length, 'one resolution per node');
  assert.equal(v.tree_hashes.length, tree.length, 'one tree hash per node');
  for (const [i, expected] of v.resolutions.entries()) {
    assert.deepEqual(resolution(tree, toNodeIndex(i)), expected, `resolution of ${nodeName(i)}`);
  }
  for (const [i, expected] of v.tree_hashes.entries()) {
    assert.deepEqual(
      await treeHash(tree, toNodeIndex(i), impl.hash),
      hex(expected),
      `tree hash of ${nodeName(i)}`,
    );
  }
  assert.ok(await verifyParentHashes(tree, impl.hash), 'parent hashes');
  for (const [i, node] of tree.entries()) {
    if (node?.nodeType !== nodeTypes.leaf) continue;
    assert.ok(
      await verifyLeafNodeSignature(node.leaf, groupId, i / 2, impl.signature),
      `leaf signature of ${nodeName(i)}`,
    );
  }
}

/**
 * The check ts-mls runs on a ratchet tree it receives when joining (signatures, parent hashes,
 * the tree hash against the GroupContext, key uniqueness, unmerged leaves), or the error it
 * returns. Beyond FORMAT.md: it shows which valid trees a ts-mls joiner would refuse.
 */
export async function joinTimeTreeError(
  impl: CiphersuiteImpl,
  v: TreeValidationVector,
  options: {
    /** Another build's validateRatchetTree (the negative controls pass rc.10 as published). */
    validate?: typeof validateRatchetTree;
    /** Changes the decoded tree before it is checked (a tampered tree). */
    mutate?: (tree: RatchetTree) => void;
  } = {},
): Promise<Error | undefined> {
  const tree = decodeAll(ratchetTreeDecoder, hex(v.tree), 'tree');
  options.mutate?.(tree);
  const treeHashRootValue = hex(v.tree_hashes[root(leafWidth(tree.length))]!);
  const groupContext: GroupContext = {
    version: protocolVersions.mls10,
    cipherSuite: v.cipher_suite,
    groupId: hex(v.group_id),
    epoch: 0n,
    treeHash: treeHashRootValue,
    confirmedTranscriptHash: new Uint8Array(),
    extensions: [],
  };
  // The vectors' credentials are not ours: the test service accepts them.
  return (options.validate ?? validateRatchetTree)(
    tree,
    groupContext,
    clientConfig.lifetimeConfig,
    unsafeTestingAuthenticationService,
    treeHashRootValue,
    impl,
  );
}

// --- treekem -------------------------------------------------------------------------

export interface TreekemVector extends Suite {
  group_id: string;
  epoch: number;
  confirmed_transcript_hash: string;
  ratchet_tree: string;
  leaves_private: {
    index: number;
    encryption_priv: string;
    signature_priv: string;
    path_secrets: { node: number; path_secret: string }[];
  }[];
  update_paths: {
    sender: number;
    update_path: string;
    path_secrets: (string | null)[];
    commit_secret: string;
    tree_hash_after: string;
  }[];
}

interface LeafPrivateState {
  /** ts-mls's private TreeKEM state: the HPKE private key of each node the leaf knows. */
  readonly path: { leafIndex: number; privateKeys: Record<number, Uint8Array> };
  readonly signaturePrivateKey: Uint8Array;
}

function leafNodeAt(tree: RatchetTree, leafIndex: number) {
  const node = tree[leafToNodeIndex(toLeafIndex(leafIndex))];
  return node?.nodeType === nodeTypes.leaf ? node.leaf : undefined;
}

async function leafPrivateStates(
  impl: CiphersuiteImpl,
  tree: RatchetTree,
  v: TreekemVector,
): Promise<Map<number, LeafPrivateState>> {
  const states = new Map<number, LeafPrivateState>();
  for (const leaf of v.leaves_private) {
    const leafNode = leafNodeAt(tree, leaf.index);
    assert.ok(leafNode, `leaves_private names leaf ${leaf.index}, which is blank`);
    const encryptionPriv = hex(leaf.encryption_priv);
    const signaturePrivateKey = hex(leaf.signature_priv);
    await assertHpkeKeyPair(
      impl,
      encryptionPriv,
      leafNode.hpkePublicKey,
      `leaf ${leaf.index} encryption_priv`,
    );
    await assertSignatureKeyPair(
      impl,
      signaturePrivateKey,
      leafNode.signaturePublicKey,
      `leaf ${leaf.index} signature_priv`,
    );
    const secrets: PathSecrets = Object.fromEntries(
      leaf.path_secrets.map((p) => [p.node, hex(p.path_secret)]),
    );
    const path = await toPrivateKeyPath(secrets, leaf.index, impl);
    // Each private node key must belong to a non-blank node holding its public key.
    for (const { node } of leaf.path_secrets) {
      const treeNode = tree[node];
      assert.ok(treeNode, `leaf ${leaf.index} holds a path secret for blank ${nodeName(node)}`);
      await assertHpkeKeyPair(
        impl,
        path.privateKeys[node]!,
        getHpkePublicKey(treeNode),
        `leaf ${leaf.index} path secret for ${nodeName(node)}`,
      );
    }
    path.privateKeys[leafToNodeIndex(toLeafIndex(leaf.index))] = encryptionPriv;
    states.set(leaf.index, { path, signaturePrivateKey });
  }
  return states;
}

/** What member `receiver` learns from `sender`'s UpdatePath: its path secret and the commit secret. */
async function receiveUpdatePath(
  impl: CiphersuiteImpl,
  treeAfter: RatchetTree,
  receiver: LeafPrivateState,
  sender: number,
  groupContext: GroupContext,
  path: Parameters<typeof applyUpdatePathSecret>[4],
): Promise<{ pathSecret: Uint8Array; commitSecret: Uint8Array }> {
  const { nodeIndex, pathSecret } = await applyUpdatePathSecret(
    treeAfter,
    receiver.path,
    toLeafIndex(sender),
    groupContext,
    path,
    [],
    impl,
  );
  const commitSecret = await getCommitSecret(treeAfter, toNodeIndex(nodeIndex), pathSecret, impl.kdf);
  return { pathSecret, commitSecret };
}

export async function checkTreekem(impl: CiphersuiteImpl, v: TreekemVector): Promise<void> {
  const tree = decodeAll(ratchetTreeDecoder, hex(v.ratchet_tree), 'ratchet_tree');
  const states = await leafPrivateStates(impl, tree, v);
  const groupContext: GroupContext = {
    version: protocolVersions.mls10,
    cipherSuite: v.cipher_suite,
    groupId: hex(v.group_id),
    epoch: BigInt(v.epoch),
    treeHash: await treeHashRoot(tree, impl.hash),
    confirmedTranscriptHash: hex(v.confirmed_transcript_hash),
    extensions: [],
  };
  const leafCount = leafWidth(tree.length);
  const members = [...Array(leafCount).keys()].filter((j) => leafNodeAt(tree, j) !== undefined);

  for (const u of v.update_paths) {
    const what = `update path from leaf ${u.sender}`;
    const updatePath = decodeAll(updatePathDecoder, hex(u.update_path), what);
    // applyUpdatePath rejects a path whose leaf parent hash does not chain to the new nodes.
    const treeAfter = tree.slice();
    await applyUpdatePath(treeAfter, toLeafIndex(u.sender), updatePath, impl.hash);
    assert.ok(await verifyParentHashes(treeAfter, impl.hash), `${what}: parent hashes after merging`);
    const treeHashAfter = await treeHashRoot(treeAfter, impl.hash);
    assert.deepEqual(treeHashAfter, hex(u.tree_hash_after), `${what}: tree_hash_after`);

    assert.equal(u.path_secrets.length, leafCount, `${what}: one path secret per leaf`);
    const contextAfter = { ...groupContext, treeHash: treeHashAfter };
    for (const [j, expected] of u.path_secrets.entries()) {
      if (j === u.sender || !members.includes(j)) {
        assert.equal(expected, null, `${what}: no path secret for leaf ${j}`);
        continue;
      }
      assert.ok(expected !== null, `${what}: a path secret for leaf ${j}`);
      const receiver = states.get(j);
      assert.ok(receiver, `leaves_private has no state for member ${j}`);
      const got = await receiveUpdatePath(impl, treeAfter, receiver, u.sender, contextAfter, updatePath);
      assert.deepEqual(got.pathSecret, hex(expected), `${what}: path secret decrypted by leaf ${j}`);
      assert.deepEqual(got.commitSecret, hex(u.commit_secret), `${what}: commit secret at leaf ${j}`);
    }

    // A fresh UpdatePath from the same sender, made by ts-mls on our provider, reaches the
    // same commit secret at every other member.
    const sender = states.get(u.sender);
    assert.ok(sender, `leaves_private has no state for sender ${u.sender}`);
    const [treeWithNewPath, newPath, newPathSecrets] = await createUpdatePath(
      tree,
      tree.slice(),
      toLeafIndex(u.sender),
      groupContext,
      sender.signaturePrivateKey,
      impl,
    );
    const lastPathSecret = newPathSecrets.at(-1);
    assert.ok(lastPathSecret, `${what}: the new path has path secrets`);
    const newCommitSecret = await deriveSecret(lastPathSecret.secret, 'path', impl.kdf);
    // createUpdatePath takes the context of the epoch being left and encrypts under the next.
    const newContext = {
      ...groupContext,
      epoch: groupContext.epoch + 1n,
      treeHash: await treeHashRoot(treeWithNewPath, impl.hash),
    };
    const receivedTree = tree.slice();
    await applyUpdatePath(receivedTree, toLeafIndex(u.sender), newPath, impl.hash);
    assert.deepEqual(encode(ratchetTreeEncoder, receivedTree), encode(ratchetTreeEncoder, treeWithNewPath));
    for (const j of members) {
      if (j === u.sender) continue;
      const receiver = states.get(j)!;
      const got = await receiveUpdatePath(impl, receivedTree, receiver, u.sender, newContext, newPath);
      assert.deepEqual(got.commitSecret, newCommitSecret, `new ${what}: commit secret at leaf ${j}`);
    }
  }
}

// --- welcome -------------------------------------------------------------------------

export interface WelcomeVector extends Suite {
  init_priv: string;
  signer_pub: string;
  key_package: string;
  welcome: string;
}

export async function checkWelcome(impl: CiphersuiteImpl, v: WelcomeVector): Promise<void> {
  const welcome = mlsMessage(hex(v.welcome), wireformats.mls_welcome, 'welcome').welcome;
  const keyPackage = keyPackageOf(hex(v.key_package), 'key_package');
  const ref = await makeKeyPackageRef(keyPackage, impl.hash);
  const entries = welcome.secrets.filter((s) => Buffer.from(s.newMember).equals(ref));
  assert.equal(entries.length, 1, 'exactly one entry in welcome.secrets for key_package');

  const initKey = await impl.hpke.importPrivateKey(hex(v.init_priv));
  const groupSecrets = await decryptGroupSecrets(initKey, ref, welcome, impl.hpke);
  assert.ok(groupSecrets, 'could not decode the GroupSecrets');
  assert.equal(groupSecrets.psks.length, 0, 'the welcome vectors use no PSKs');
  const noPsk = new Uint8Array(impl.kdf.size);
  const groupInfo = await decryptGroupInfo(welcome, groupSecrets.joinerSecret, noPsk, impl);
  assert.ok(groupInfo, 'could not decode the GroupInfo');

  assert.ok(
    await verifyGroupInfoSignature(groupInfo, hex(v.signer_pub), impl.signature),
    'GroupInfo signature by signer_pub',
  );
  const [keySchedule] = await deriveKeySchedule(
    groupSecrets.joinerSecret,
    noPsk,
    groupInfo.groupContext,
    impl.kdf,
  );
  const candidateTag = await impl.hash.mac(
    keySchedule.confirmationKey,
    groupInfo.groupContext.confirmedTranscriptHash,
  );
  assert.deepEqual(candidateTag, groupInfo.confirmationTag, 'GroupInfo confirmation_tag');
}

// --- messages ------------------------------------------------------------------------

export interface MessagesVector {
  mls_welcome: string;
  mls_group_info: string;
  mls_key_package: string;
  ratchet_tree: string;
  group_secrets: string;
  add_proposal: string;
  update_proposal: string;
  remove_proposal: string;
  pre_shared_key_proposal: string;
  re_init_proposal: string;
  external_init_proposal: string;
  group_context_extensions_proposal: string;
  commit: string;
  public_message_application: string;
  public_message_proposal: string;
  public_message_commit: string;
  private_message: string;
}

/** Decodes all of `bytes` as one value (and checks it), then encodes that value again. */
function reencoder<T>(decoder: Decoder<T>, encoder: Encoder<T>, checkDecoded?: (value: T) => void) {
  return (bytes: Uint8Array, what: string): Uint8Array => {
    const value = decodeAll(decoder, bytes, what);
    checkDecoded?.(value);
    return encode(encoder, value);
  };
}

function mlsMessageReencoder(wireformat: MlsMessage['wireformat'], contentType?: ContentTypeValue) {
  return reencoder(mlsMessageDecoder, mlsMessageEncoder, (message) => {
    assert.equal(message.wireformat, wireformat, 'wire format');
    if (contentType === undefined) return;
    assert.ok(message.wireformat === wireformats.mls_public_message);
    assert.equal(message.publicMessage.content.contentType, contentType, 'content type');
  });
}

/** The structure each field of a messages vector holds. */
const messageCodecs: Record<keyof MessagesVector, (bytes: Uint8Array, what: string) => Uint8Array> = {
  mls_welcome: mlsMessageReencoder(wireformats.mls_welcome),
  mls_group_info: mlsMessageReencoder(wireformats.mls_group_info),
  mls_key_package: mlsMessageReencoder(wireformats.mls_key_package),
  ratchet_tree: reencoder(ratchetTreeDecoder, ratchetTreeEncoder),
  group_secrets: reencoder(groupSecretsDecoder, groupSecretsEncoder),
  add_proposal: reencoder(addDecoder, addEncoder),
  update_proposal: reencoder(updateDecoder, updateEncoder),
  remove_proposal: reencoder(removeDecoder, removeEncoder),
  pre_shared_key_proposal: reencoder(pskDecoder, pskEncoder),
  re_init_proposal: reencoder(reinitDecoder, reinitEncoder),
  external_init_proposal: reencoder(externalInitDecoder, externalInitEncoder),
  group_context_extensions_proposal: reencoder(groupContextExtensionsDecoder, groupContextExtensionsEncoder),
  commit: reencoder(commitDecoder, commitEncoder),
  public_message_application: mlsMessageReencoder(wireformats.mls_public_message, contentTypes.application),
  public_message_proposal: mlsMessageReencoder(wireformats.mls_public_message, contentTypes.proposal),
  public_message_commit: mlsMessageReencoder(wireformats.mls_public_message, contentTypes.commit),
  private_message: mlsMessageReencoder(wireformats.mls_private_message),
};

export const messageFields = Object.keys(messageCodecs) as (keyof MessagesVector)[];

/** Decodes all of `bytes` as the structure of `field` and encodes it again; throws if it does not decode. */
export function reencodeMessageField(field: keyof MessagesVector, bytes: Uint8Array): Uint8Array {
  return messageCodecs[field](bytes, field);
}

export function checkMessages(v: MessagesVector): void {
  for (const field of messageFields) {
    const bytes = hex(v[field]);
    assert.deepEqual(reencodeMessageField(field, bytes), bytes, `${field} re-encodes to other bytes`);
  }
}

// --- deserialization -----------------------------------------------------------------

export interface DeserializationVector {
  vlbytes_header: string;
  length: number;
}

export function checkVlbytesHeader(v: DeserializationVector): void {
  const header = hex(v.vlbytes_header);
  const { length, lengthFieldSize } = determineLength(header);
  assert.equal(length, v.length, `length of header ${v.vlbytes_header}`);
  assert.equal(lengthFieldSize, header.length, `size of header ${v.vlbytes_header}`);
  // The encoder writes the same (minimal) header for that length.
  const [size, write] = lengthEncoder(v.length);
  const written = new Uint8Array(size);
  write(0, written.buffer);
  assert.deepEqual(written, header, `header written for length ${v.length}`);
}

// --- passive clients -----------------------------------------------------------------

export interface PassiveClientVector extends Suite {
  external_psks: { psk_id: string; psk: string }[];
  key_package: string;
  signature_priv: string;
  encryption_priv: string;
  init_priv: string;
  welcome: string;
  ratchet_tree: string | null;
  initial_epoch_authenticator: string;
  epochs: { proposals: string[]; commit: string; epoch_authenticator: string }[];
}

async function processHandshake(
  context: MlsContext,
  state: ClientState,
  bytes: Uint8Array,
  what: string,
): Promise<ClientState> {
  const message = decodeAll(mlsMessageDecoder, bytes, what);
  // rc.10's processMessage drops the context's external PSKs for a PrivateMessage, so a
  // private commit goes to processPrivateMessage, which keeps them. (The vectors' handshakes
  // are all PublicMessages, which our product wrapper refuses; here they test the library.)
  const result =
    message.wireformat === wireformats.mls_private_message
      ? await processPrivateMessage({ context, state, privateMessage: message.privateMessage })
      : message.wireformat === wireformats.mls_public_message
        ? await processMessage({ context, state, message })
        : undefined;
  if (result === undefined) throw new Error(`${what}: wire format ${message.wireformat} is not a handshake`);
  if (result.kind !== 'newState') throw new Error(`${what}: processed as an application message`);
  assert.equal(result.actionTaken, 'accept', `${what}: accepted`);
  return result.newState;
}

export async function checkPassiveClient(impl: CiphersuiteImpl, v: PassiveClientVector): Promise<void> {
  const keyPackage = keyPackageOf(hex(v.key_package), 'key_package');
  const privateKeys = {
    signaturePrivateKey: hex(v.signature_priv),
    hpkePrivateKey: hex(v.encryption_priv),
    initPrivateKey: hex(v.init_priv),
  };
  await assertSignatureKeyPair(
    impl,
    privateKeys.signaturePrivateKey,
    keyPackage.leafNode.signaturePublicKey,
    'signature_priv',
  );
  await assertHpkeKeyPair(
    impl,
    privateKeys.hpkePrivateKey,
    keyPackage.leafNode.hpkePublicKey,
    'encryption_priv',
  );
  await assertHpkeKeyPair(impl, privateKeys.initPrivateKey, keyPackage.initKey, 'init_priv');

  const context: MlsContext = {
    cipherSuite: impl,
    // The vectors' credentials are basic credentials of test identities, not ours: only the
    // test service accepts them. The protocol package checks credentials against KT.
    authService: unsafeTestingAuthenticationService,
    clientConfig,
    // rc.10 looks external PSKs up by the base64 of their id.
    externalPsks: Object.fromEntries(v.external_psks.map((p) => [bytesToBase64(hex(p.psk_id)), hex(p.psk)])),
  };
  const welcome = mlsMessage(hex(v.welcome), wireformats.mls_welcome, 'welcome').welcome;
  let state = await joinGroup({
    context,
    welcome,
    keyPackage,
    privateKeys,
    ...(v.ratchet_tree === null
      ? {}
      : { ratchetTree: decodeAll(ratchetTreeDecoder, hex(v.ratchet_tree), 'ratchet_tree') }),
  });
  assert.deepEqual(
    state.keySchedule.epochAuthenticator,
    hex(v.initial_epoch_authenticator),
    'initial_epoch_authenticator',
  );

  for (const [i, epoch] of v.epochs.entries()) {
    // Proposals come first: the commit includes them by reference.
    for (const [k, proposal] of epoch.proposals.entries()) {
      state = await processHandshake(context, state, hex(proposal), `epoch ${i} proposal ${k}`);
    }
    state = await processHandshake(context, state, hex(epoch.commit), `epoch ${i} commit`);
    assert.deepEqual(
      state.keySchedule.epochAuthenticator,
      hex(epoch.epoch_authenticator),
      `epoch ${i} epoch_authenticator`,
    );
  }
}
