// Checks for the MLS interoperability vectors (RFC 9420 test vectors, FORMAT.md beside them)
// that exercise a crypto provider: crypto-basics, secret-tree, message-protection,
// key-schedule, psk_secret and transcript-hashes. Each check throws on the first mismatch,
// so the same checks can show that a broken provider fails them.
import assert from 'node:assert/strict';
import { fromHex as hex } from '@ghostproof/testkit/hex';
import { loadVectorFile } from '@ghostproof/testkit/vectors';
import {
  contentTypes,
  decode,
  defaultKeyRetentionConfig,
  defaultPaddingConfig,
  encode,
  mlsMessageDecoder,
  protocolVersions,
  pskTypes,
  wireformats,
  type CiphersuiteImpl,
  type KeyRetentionConfig,
  type PskId,
} from 'ts-mls';
import {
  authenticatedContentDecoder,
  commitDecoder,
  commitEncoder,
  computePskSecret,
  createConfirmedHash,
  createInterimHash,
  createSecretTree,
  decryptWithLabel,
  deriveSecret,
  deriveTreeSecret,
  encryptWithLabel,
  expandSenderDataKey,
  expandSenderDataNonce,
  expandWithLabel,
  groupContextEncoder,
  initializeEpoch,
  proposalDecoder,
  proposalEncoder,
  protectApplicationData,
  protectProposal,
  protectProposalPublic,
  protectPublicMessage,
  ratchetToGeneration,
  refhash,
  signWithLabel,
  unprotectPrivateMessage,
  unprotectPublicMessage,
  verifyConfirmationTag,
  verifyWithLabel,
  type GroupContext,
  type ReuseGuard,
} from './ts-mls-internals.js';

export { loadVectorFile, hex };

function decoded<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`could not decode ${what}`);
  return value;
}

interface Suite {
  cipher_suite: number;
}

// --- crypto-basics -------------------------------------------------------------------

export interface CryptoBasicsVector extends Suite {
  ref_hash: { label: string; value: string; out: string };
  expand_with_label: { secret: string; label: string; context: string; length: number; out: string };
  derive_secret: { secret: string; label: string; out: string };
  derive_tree_secret: { secret: string; label: string; generation: number; length: number; out: string };
  sign_with_label: { priv: string; pub: string; content: string; label: string; signature: string };
  encrypt_with_label: {
    priv: string;
    pub: string;
    label: string;
    context: string;
    plaintext: string;
    kem_output: string;
    ciphertext: string;
  };
}

export async function checkCryptoBasics(impl: CiphersuiteImpl, v: CryptoBasicsVector): Promise<void> {
  assert.deepEqual(await refhash(v.ref_hash.label, hex(v.ref_hash.value), impl.hash), hex(v.ref_hash.out));
  const e = v.expand_with_label;
  assert.deepEqual(
    await expandWithLabel(hex(e.secret), e.label, hex(e.context), e.length, impl.kdf),
    hex(e.out),
    'ExpandWithLabel',
  );
  assert.deepEqual(
    await deriveSecret(hex(v.derive_secret.secret), v.derive_secret.label, impl.kdf),
    hex(v.derive_secret.out),
    'DeriveSecret',
  );
  const t = v.derive_tree_secret;
  assert.deepEqual(
    await deriveTreeSecret(hex(t.secret), t.label, t.generation, t.length, impl.kdf),
    hex(t.out),
    'DeriveTreeSecret',
  );
  const s = v.sign_with_label;
  assert.ok(await verifyWithLabel(hex(s.pub), s.label, hex(s.content), hex(s.signature), impl.signature));
  const ours = await signWithLabel(hex(s.priv), s.label, hex(s.content), impl.signature);
  assert.ok(
    await verifyWithLabel(hex(s.pub), s.label, hex(s.content), ours, impl.signature),
    'SignWithLabel',
  );
  // Ed25519 is deterministic: our signature is the vector's.
  assert.deepEqual(ours, hex(s.signature), 'SignWithLabel is deterministic');
  const h = v.encrypt_with_label;
  const priv = await impl.hpke.importPrivateKey(hex(h.priv));
  const pub = await impl.hpke.importPublicKey(hex(h.pub));
  assert.deepEqual(
    await decryptWithLabel(priv, h.label, hex(h.context), hex(h.kem_output), hex(h.ciphertext), impl.hpke),
    hex(h.plaintext),
    'DecryptWithLabel',
  );
  const fresh = await encryptWithLabel(pub, h.label, hex(h.context), hex(h.plaintext), impl.hpke);
  assert.deepEqual(
    await decryptWithLabel(priv, h.label, hex(h.context), fresh.enc, fresh.ct, impl.hpke),
    hex(h.plaintext),
    'EncryptWithLabel round trip',
  );
}

// --- secret-tree ---------------------------------------------------------------------

export interface SecretTreeVector extends Suite {
  encryption_secret: string;
  sender_data: { sender_data_secret: string; ciphertext: string; key: string; nonce: string };
  leaves: {
    generation: number;
    application_key: string;
    application_nonce: string;
    handshake_key: string;
    handshake_nonce: string;
  }[][];
}

const generousRetention: KeyRetentionConfig = {
  ...defaultKeyRetentionConfig,
  maximumForwardRatchetSteps: 1 << 20,
  retainKeysForGenerations: 1 << 20,
};

export async function checkSecretTree(impl: CiphersuiteImpl, v: SecretTreeVector): Promise<void> {
  const sd = v.sender_data;
  assert.deepEqual(
    await expandSenderDataKey(impl, hex(sd.sender_data_secret), hex(sd.ciphertext)),
    hex(sd.key),
  );
  assert.deepEqual(
    await expandSenderDataNonce(impl, hex(sd.sender_data_secret), hex(sd.ciphertext)),
    hex(sd.nonce),
  );
  // A zero reuse guard leaves the nonce as the ratchet produced it.
  const reuseGuard = new Uint8Array(4) as ReuseGuard;
  for (const [leafIndex, generations] of v.leaves.entries()) {
    for (const [type, keyOf, nonceOf] of [
      [contentTypes.application, 'application_key', 'application_nonce'],
      [contentTypes.commit, 'handshake_key', 'handshake_nonce'],
    ] as const) {
      let tree = createSecretTree(v.leaves.length, hex(v.encryption_secret));
      for (const g of generations) {
        const step = await ratchetToGeneration(
          tree,
          { leafIndex, generation: g.generation, reuseGuard },
          type,
          generousRetention,
          impl,
        );
        assert.deepEqual(step.key, hex(g[keyOf]), `leaf ${leafIndex} generation ${g.generation} ${keyOf}`);
        assert.deepEqual(
          step.nonce,
          hex(g[nonceOf]),
          `leaf ${leafIndex} generation ${g.generation} ${nonceOf}`,
        );
        tree = step.newTree;
      }
    }
  }
}

// --- message-protection --------------------------------------------------------------

export interface MessageProtectionVector extends Suite {
  group_id: string;
  epoch: number;
  tree_hash: string;
  confirmed_transcript_hash: string;
  signature_priv: string;
  signature_pub: string;
  encryption_secret: string;
  sender_data_secret: string;
  membership_key: string;
  proposal: string;
  proposal_pub: string;
  proposal_priv: string;
  commit: string;
  commit_pub: string;
  commit_priv: string;
  application: string;
  application_priv: string;
}

function framed(bytes: Uint8Array) {
  return decoded(decode(mlsMessageDecoder, bytes), 'MLSMessage');
}

export async function checkMessageProtection(
  impl: CiphersuiteImpl,
  v: MessageProtectionVector,
): Promise<void> {
  const gc: GroupContext = {
    version: protocolVersions.mls10,
    cipherSuite: v.cipher_suite,
    groupId: hex(v.group_id),
    epoch: BigInt(v.epoch),
    treeHash: hex(v.tree_hash),
    confirmedTranscriptHash: hex(v.confirmed_transcript_hash),
    extensions: [],
  };
  const signPub = hex(v.signature_pub);
  const signPriv = hex(v.signature_priv);
  const membershipKey = hex(v.membership_key);
  const senderDataSecret = hex(v.sender_data_secret);
  const secretTree = () => createSecretTree(2, hex(v.encryption_secret));

  async function openPublic(bytes: Uint8Array) {
    const message = framed(bytes);
    assert.equal(message.wireformat, wireformats.mls_public_message);
    if (message.wireformat !== wireformats.mls_public_message) throw new Error('unreachable');
    return unprotectPublicMessage(membershipKey, gc, [], message.publicMessage, impl, signPub);
  }
  async function openPrivate(bytes: Uint8Array) {
    const message = framed(bytes);
    if (message.wireformat !== wireformats.mls_private_message) throw new Error('expected a PrivateMessage');
    const result = await unprotectPrivateMessage(
      senderDataSecret,
      message.privateMessage,
      secretTree(),
      [],
      gc,
      generousRetention,
      impl,
      signPub,
    );
    return result.content.content;
  }

  const proposal = decoded(decode(proposalDecoder, hex(v.proposal)), 'Proposal');
  const commit = decoded(decode(commitDecoder, hex(v.commit)), 'Commit');

  // The vector's messages open to the vector's content.
  const pubProposal = await openPublic(hex(v.proposal_pub));
  assert.ok('proposal' in pubProposal.content);
  assert.deepEqual(encode(proposalEncoder, pubProposal.content.proposal), hex(v.proposal));
  const pubCommit = await openPublic(hex(v.commit_pub));
  assert.ok('commit' in pubCommit.content);
  assert.deepEqual(encode(commitEncoder, pubCommit.content.commit), hex(v.commit));
  const privProposal = await openPrivate(hex(v.proposal_priv));
  assert.ok('proposal' in privProposal);
  assert.deepEqual(encode(proposalEncoder, privProposal.proposal), hex(v.proposal));
  const privCommit = await openPrivate(hex(v.commit_priv));
  assert.ok('commit' in privCommit);
  assert.deepEqual(encode(commitEncoder, privCommit.commit), hex(v.commit));
  const privApplication = await openPrivate(hex(v.application_priv));
  assert.ok('applicationData' in privApplication);
  assert.deepEqual(privApplication.applicationData, hex(v.application));

  // What we protect opens again with the vector's keys.
  const reprotectedCommit = await protectPublicMessage(membershipKey, gc, pubCommit, impl);
  const reopened = await unprotectPublicMessage(membershipKey, gc, [], reprotectedCommit, impl, signPub);
  assert.ok('commit' in reopened.content);
  assert.deepEqual(encode(commitEncoder, reopened.content.commit), encode(commitEncoder, commit));

  const { publicMessage } = await protectProposalPublic(
    signPriv,
    membershipKey,
    gc,
    new Uint8Array(),
    proposal,
    1,
    impl,
  );
  const publicOpened = await unprotectPublicMessage(membershipKey, gc, [], publicMessage, impl, signPub);
  assert.ok('proposal' in publicOpened.content);
  assert.deepEqual(encode(proposalEncoder, publicOpened.content.proposal), hex(v.proposal));

  for (const make of [
    () =>
      protectProposal(
        signPriv,
        senderDataSecret,
        proposal,
        new Uint8Array(),
        gc,
        secretTree(),
        1,
        defaultPaddingConfig,
        impl,
      ),
    () =>
      protectApplicationData(
        signPriv,
        senderDataSecret,
        hex(v.application),
        new Uint8Array(),
        gc,
        secretTree(),
        1,
        defaultPaddingConfig,
        impl,
      ),
  ]) {
    const { privateMessage } = await make();
    const opened = await unprotectPrivateMessage(
      senderDataSecret,
      privateMessage,
      secretTree(),
      [],
      gc,
      generousRetention,
      impl,
      signPub,
    );
    const content = opened.content.content;
    if ('proposal' in content) assert.deepEqual(encode(proposalEncoder, content.proposal), hex(v.proposal));
    else if ('applicationData' in content) assert.deepEqual(content.applicationData, hex(v.application));
    else assert.fail('unexpected content');
  }
}

// --- key-schedule --------------------------------------------------------------------

export interface KeyScheduleVector extends Suite {
  group_id: string;
  initial_init_secret: string;
  epochs: {
    tree_hash: string;
    commit_secret: string;
    psk_secret: string;
    confirmed_transcript_hash: string;
    group_context: string;
    joiner_secret: string;
    welcome_secret: string;
    init_secret: string;
    sender_data_secret: string;
    encryption_secret: string;
    exporter_secret: string;
    epoch_authenticator: string;
    external_secret: string;
    confirmation_key: string;
    membership_key: string;
    resumption_psk: string;
    external_pub: string;
    exporter: { label: string; context: string; length: number; secret: string };
  }[];
}

export async function checkKeySchedule(impl: CiphersuiteImpl, v: KeyScheduleVector): Promise<void> {
  let initSecret = hex(v.initial_init_secret);
  for (const [index, epoch] of v.epochs.entries()) {
    const gc: GroupContext = {
      version: protocolVersions.mls10,
      cipherSuite: v.cipher_suite,
      groupId: hex(v.group_id),
      epoch: BigInt(index),
      treeHash: hex(epoch.tree_hash),
      confirmedTranscriptHash: hex(epoch.confirmed_transcript_hash),
      extensions: [],
    };
    assert.deepEqual(encode(groupContextEncoder, gc), hex(epoch.group_context));
    const secrets = await initializeEpoch(
      initSecret,
      hex(epoch.commit_secret),
      gc,
      hex(epoch.psk_secret),
      impl.kdf,
    );
    const ks = secrets.keySchedule;
    assert.deepEqual(secrets.joinerSecret, hex(epoch.joiner_secret), `epoch ${index} joiner_secret`);
    assert.deepEqual(secrets.welcomeSecret, hex(epoch.welcome_secret), `epoch ${index} welcome_secret`);
    assert.deepEqual(
      secrets.encryptionSecret,
      hex(epoch.encryption_secret),
      `epoch ${index} encryption_secret`,
    );
    assert.deepEqual(ks.initSecret, hex(epoch.init_secret));
    assert.deepEqual(ks.senderDataSecret, hex(epoch.sender_data_secret));
    assert.deepEqual(ks.exporterSecret, hex(epoch.exporter_secret));
    assert.deepEqual(ks.externalSecret, hex(epoch.external_secret));
    assert.deepEqual(ks.confirmationKey, hex(epoch.confirmation_key));
    assert.deepEqual(ks.membershipKey, hex(epoch.membership_key));
    assert.deepEqual(ks.resumptionPsk, hex(epoch.resumption_psk));
    assert.deepEqual(ks.epochAuthenticator, hex(epoch.epoch_authenticator));
    const { publicKey } = await impl.hpke.deriveKeyPair(hex(epoch.external_secret));
    assert.deepEqual(await impl.hpke.exportPublicKey(publicKey), hex(epoch.external_pub), 'external_pub');
    const x = epoch.exporter;
    // MLS-Exporter (RFC 9420 §8.5), spelled out on the provider's own HKDF.
    const exported = await expandWithLabel(
      await deriveSecret(ks.exporterSecret, x.label, impl.kdf),
      'exported',
      await impl.hash.digest(hex(x.context)),
      x.length,
      impl.kdf,
    );
    assert.deepEqual(exported, hex(x.secret), 'MLS-Exporter');
    initSecret = ks.initSecret;
  }
}

// --- psk_secret ----------------------------------------------------------------------

export interface PskSecretVector extends Suite {
  psks: { psk_id: string; psk: string; psk_nonce: string }[];
  psk_secret: string;
}

export async function checkPskSecret(impl: CiphersuiteImpl, v: PskSecretVector): Promise<void> {
  const psks = v.psks.map((p): [PskId, Uint8Array] => [
    { psktype: pskTypes.external, pskId: hex(p.psk_id), pskNonce: hex(p.psk_nonce) },
    hex(p.psk),
  ]);
  assert.deepEqual(await computePskSecret(psks, impl), hex(v.psk_secret));
}

// --- transcript-hashes ---------------------------------------------------------------

export interface TranscriptHashesVector extends Suite {
  confirmation_key: string;
  authenticated_content: string;
  interim_transcript_hash_before: string;
  confirmed_transcript_hash_after: string;
  interim_transcript_hash_after: string;
}

export async function checkTranscriptHashes(impl: CiphersuiteImpl, v: TranscriptHashesVector): Promise<void> {
  const content = decoded(
    decode(authenticatedContentDecoder, hex(v.authenticated_content)),
    'AuthenticatedContent',
  );
  if (content.content.contentType !== contentTypes.commit || !('confirmationTag' in content.auth)) {
    throw new Error('expected a commit with a confirmation tag');
  }
  const confirmationTag = content.auth.confirmationTag;
  assert.ok(
    await verifyConfirmationTag(
      hex(v.confirmation_key),
      confirmationTag,
      hex(v.confirmed_transcript_hash_after),
      impl.hash,
    ),
    'confirmation tag',
  );
  const confirmed = await createConfirmedHash(
    hex(v.interim_transcript_hash_before),
    { wireformat: content.wireformat, content: content.content, signature: content.auth.signature },
    impl.hash,
  );
  assert.deepEqual(confirmed, hex(v.confirmed_transcript_hash_after));
  assert.deepEqual(
    await createInterimHash(confirmed, confirmationTag, impl.hash),
    hex(v.interim_transcript_hash_after),
  );
}

export const mlsVectorFiles = {
  'crypto-basics': checkCryptoBasics,
  'secret-tree': checkSecretTree,
  'message-protection': checkMessageProtection,
  'key-schedule': checkKeySchedule,
  psk_secret: checkPskSecret,
  'transcript-hashes': checkTranscriptHashes,
} as const;
