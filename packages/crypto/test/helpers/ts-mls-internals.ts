// The MLS known-answer vectors exercise steps that ts-mls does not export from its package
// root (key schedule, secret tree, message protection). Tests may reach those internals by
// file path; product code never does (DESIGN.md, "ts-mls notes").
export { refhash } from '../../../../node_modules/ts-mls/dist/src/crypto/hash.js';
export {
  deriveSecret,
  deriveTreeSecret,
  expandWithLabel,
} from '../../../../node_modules/ts-mls/dist/src/crypto/kdf.js';
export { signWithLabel, verifyWithLabel } from '../../../../node_modules/ts-mls/dist/src/crypto/signature.js';
export { decryptWithLabel, encryptWithLabel } from '../../../../node_modules/ts-mls/dist/src/crypto/hpke.js';
export {
  createSecretTree,
  ratchetToGeneration,
} from '../../../../node_modules/ts-mls/dist/src/secretTree.js';
export {
  expandSenderDataKey,
  expandSenderDataNonce,
  type ReuseGuard,
} from '../../../../node_modules/ts-mls/dist/src/sender.js';
export { initializeEpoch } from '../../../../node_modules/ts-mls/dist/src/keySchedule.js';
export {
  groupContextEncoder,
  type GroupContext,
} from '../../../../node_modules/ts-mls/dist/src/groupContext.js';
export { computePskSecret } from '../../../../node_modules/ts-mls/dist/src/presharedkey.js';
export {
  createConfirmedHash,
  createInterimHash,
} from '../../../../node_modules/ts-mls/dist/src/transcriptHash.js';
export {
  authenticatedContentDecoder,
  type AuthenticatedContent,
} from '../../../../node_modules/ts-mls/dist/src/authenticatedContent.js';
export { verifyConfirmationTag } from '../../../../node_modules/ts-mls/dist/src/framedContent.js';
export {
  protectApplicationData,
  protectProposal,
  unprotectPrivateMessage,
} from '../../../../node_modules/ts-mls/dist/src/messageProtection.js';
export {
  protectProposalPublic,
  protectPublicMessage,
  unprotectPublicMessage,
} from '../../../../node_modules/ts-mls/dist/src/messageProtectionPublic.js';
export { proposalDecoder, proposalEncoder } from '../../../../node_modules/ts-mls/dist/src/proposal.js';
export { commitDecoder, commitEncoder } from '../../../../node_modules/ts-mls/dist/src/commit.js';
// Tree math, ratchet trees, TreeKEM, Welcome decryption and the codecs that the tree,
// welcome, messages and deserialization vectors exercise.
export {
  left,
  leafToNodeIndex,
  leafWidth,
  nodeWidth,
  parent,
  right,
  root,
  sibling,
  toLeafIndex,
  toNodeIndex,
} from '../../../../node_modules/ts-mls/dist/src/treemath.js';
export {
  addLeafNodeMutable,
  getHpkePublicKey,
  ratchetTreeDecoder,
  ratchetTreeEncoder,
  removeLeafNodeMutable,
  resolution,
  updateLeafNodeMutable,
} from '../../../../node_modules/ts-mls/dist/src/ratchetTree.js';
export { treeHash, treeHashRoot } from '../../../../node_modules/ts-mls/dist/src/treeHash.js';
export { verifyParentHashes } from '../../../../node_modules/ts-mls/dist/src/parentHash.js';
export { verifyLeafNodeSignature } from '../../../../node_modules/ts-mls/dist/src/leafNode.js';
export { validateRatchetTree } from '../../../../node_modules/ts-mls/dist/src/clientState.js';
export {
  applyUpdatePath,
  createUpdatePath,
  updatePathDecoder,
} from '../../../../node_modules/ts-mls/dist/src/updatePath.js';
export { applyUpdatePathSecret } from '../../../../node_modules/ts-mls/dist/src/createCommit.js';
export { getCommitSecret, type PathSecrets } from '../../../../node_modules/ts-mls/dist/src/pathSecrets.js';
export { toPrivateKeyPath } from '../../../../node_modules/ts-mls/dist/src/privateKeyPath.js';
export { decryptGroupInfo, decryptGroupSecrets } from '../../../../node_modules/ts-mls/dist/src/welcome.js';
export { verifyGroupInfoSignature } from '../../../../node_modules/ts-mls/dist/src/groupInfo.js';
export { deriveKeySchedule } from '../../../../node_modules/ts-mls/dist/src/keySchedule.js';
export {
  groupSecretsDecoder,
  groupSecretsEncoder,
} from '../../../../node_modules/ts-mls/dist/src/groupSecrets.js';
export {
  addDecoder,
  addEncoder,
  externalInitDecoder,
  externalInitEncoder,
  groupContextExtensionsDecoder,
  groupContextExtensionsEncoder,
  pskDecoder,
  pskEncoder,
  reinitDecoder,
  reinitEncoder,
  removeDecoder,
  removeEncoder,
  updateDecoder,
  updateEncoder,
} from '../../../../node_modules/ts-mls/dist/src/proposal.js';
export {
  determineLength,
  lengthEncoder,
} from '../../../../node_modules/ts-mls/dist/src/codec/variableLength.js';
