/**
 * @ghostproof/protocol: identities, MLS conversations, content, the authentication service
 * and saved state. The only user of ts-mls in the project: ts-mls types stay inside, and
 * only encoded bytes cross this package's boundary. Pure: runs in Node and browsers.
 */
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export {
  credentialAddress,
  decodeCredentialIdentity,
  encodeCredentialIdentity,
  sameAddress,
  type DeviceAddress,
} from './credential.js';
export { VerifiedListDirectory, type DeviceDirectory } from './directory.js';
export { createAuthenticationService, deviceKeyMatches } from './auth-service.js';
export {
  addDeviceToList,
  createAccount,
  generateKeyPair,
  removeDeviceFromList,
  signDeviceList,
  verifyDeviceList,
  type AccountIdentity,
  type DeviceIdentity,
  type KeyPair,
  type SignedList,
} from './identity.js';
export { verifyClaimedKeyPackage, KEY_PACKAGE_LIFETIME_SECONDS } from './key-packages.js';
export {
  body,
  create,
  decodeContent,
  encodeContent,
  paddingBucket,
  MAX_APPLICATION_PLAINTEXT,
  ContentSchema,
  TextSchema,
  ReactionSchema,
  EditSchema,
  DeleteSchema,
  ReceiptSchema,
  Receipt_Kind,
  TypingSchema,
  AttachmentSchema,
  DisappearingTimerSchema,
  ProfileSchema,
  GroupNameSchema,
  GroupAdminsSchema,
  type Content,
} from './content.js';
export { defaultLimits, type ProtocolLimits } from './limits.js';
export {
  decodeSettings,
  effectiveDisappearingSeconds,
  encodeSettings,
  MAX_ADMINS,
  MAX_DISAPPEARING_SECONDS,
  type ConversationSettings,
  type SettingsChange,
} from './conversation-settings.js';
export {
  Conversation,
  MLS_STATE_FORMAT,
  type ConversationKind,
  type Member,
  type PendingCommit,
  type ProcessOutcome,
  type RosterEvent,
} from './conversation.js';
export { MemoryProtocolStore, type ProtocolStore, type StoredKeyPackage } from './store.js';
export { ProtocolClient, type ProtocolClientOptions } from './client.js';
export { checkMlsConformance, type MlsLibrary } from './mls-conformance.js';
export { MISSING_AFTER_MS, type MissingMessages } from './missing-messages.js';
export { safetyNumber, type SafetyNumber, type SafetyNumberParty } from './safety-number.js';
