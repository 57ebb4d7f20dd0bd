// The few parts of Signal's library API (@signalapp/libsignal-client, as of 0.103.0, see its
// dist/*.d.ts) that the yardstick uses, and the check that a loaded module has them: the
// library is loaded at run time from outside the workspace, so its types are written here.

export interface PublicKey {
  serialize(): Uint8Array;
  equals(other: PublicKey): boolean;
}
export interface PrivateKey {
  getPublicKey(): PublicKey;
  sign(message: Uint8Array): Uint8Array;
}
export interface IdentityKeyPair {
  readonly publicKey: PublicKey;
  readonly privateKey: PrivateKey;
}
export interface KEMPublicKey {
  serialize(): Uint8Array;
}
export interface KEMKeyPair {
  getPublicKey(): KEMPublicKey;
}
export interface ProtocolAddress {
  name(): string;
  deviceId(): number;
}
export interface SessionRecord {
  serialize(): Uint8Array;
}
export interface PreKeyRecord {
  id(): number;
  serialize(): Uint8Array;
}
export interface SignedPreKeyRecord {
  id(): number;
  serialize(): Uint8Array;
}
export interface KyberPreKeyRecord {
  id(): number;
  serialize(): Uint8Array;
}
export interface PreKeyBundle {
  registrationId(): number;
}
export interface CiphertextMessage {
  serialize(): Uint8Array;
  type(): number;
}
export interface SignalMessage {
  counter(): number;
  serialize(): Uint8Array;
}
export interface PreKeySignalMessage {
  signedPreKeyId(): number;
  serialize(): Uint8Array;
}

/** Shape of the library's abstract store classes, as the native bridge calls them. */
export interface SessionStoreLike {
  saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void>;
  getSession(name: ProtocolAddress): Promise<SessionRecord | null>;
  getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]>;
}
export interface IdentityKeyStoreLike {
  getIdentityKey(): Promise<PrivateKey>;
  /** Concrete in the library's base class (derived from getIdentityKey). */
  getIdentityKeyPair(): Promise<IdentityKeyPair>;
  getLocalRegistrationId(): Promise<number>;
  saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<number>;
  isTrustedIdentity(name: ProtocolAddress, key: PublicKey, direction: number): Promise<boolean>;
  getIdentity(name: ProtocolAddress): Promise<PublicKey | null>;
}
export interface PreKeyStoreLike {
  savePreKey(id: number, record: PreKeyRecord): Promise<void>;
  getPreKey(id: number): Promise<PreKeyRecord>;
  removePreKey(id: number): Promise<void>;
}
export interface SignedPreKeyStoreLike {
  saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void>;
  getSignedPreKey(id: number): Promise<SignedPreKeyRecord>;
}
export interface KyberPreKeyStoreLike {
  saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void>;
  getKyberPreKey(id: number): Promise<KyberPreKeyRecord>;
  markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void>;
}

type AbstractClass<T extends object = object> = abstract new () => T;

export interface Libsignal {
  PrivateKey: { generate(): PrivateKey };
  KEMKeyPair: { generate(): KEMKeyPair };
  ProtocolAddress: { new: (name: string, deviceId: number) => ProtocolAddress };
  SessionRecord: { deserialize(bytes: Uint8Array): SessionRecord };
  PreKeyRecord: {
    new: (id: number, publicKey: PublicKey, privateKey: PrivateKey) => PreKeyRecord;
  };
  SignedPreKeyRecord: {
    new: (
      id: number,
      timestamp: number,
      publicKey: PublicKey,
      privateKey: PrivateKey,
      signature: Uint8Array,
    ) => SignedPreKeyRecord;
  };
  KyberPreKeyRecord: {
    new: (id: number, timestamp: number, keyPair: KEMKeyPair, signature: Uint8Array) => KyberPreKeyRecord;
  };
  PreKeyBundle: {
    new: (
      registrationId: number,
      deviceId: number,
      preKeyId: number | null,
      preKey: PublicKey | null,
      signedPreKeyId: number,
      signedPreKey: PublicKey,
      signedPreKeySignature: Uint8Array,
      identityKey: PublicKey,
      kyberPreKeyId: number,
      kyberPreKey: KEMPublicKey,
      kyberPreKeySignature: Uint8Array,
    ) => PreKeyBundle;
  };
  SignalMessage: { deserialize(bytes: Uint8Array): SignalMessage };
  PreKeySignalMessage: { deserialize(bytes: Uint8Array): PreKeySignalMessage };
  CiphertextMessageType: { readonly Whisper: number; readonly PreKey: number };
  IdentityChange: { readonly NewOrUnchanged: number; readonly ReplacedExisting: number };
  SessionStore: AbstractClass;
  IdentityKeyStore: AbstractClass<Pick<IdentityKeyStoreLike, 'getIdentityKeyPair'>>;
  PreKeyStore: AbstractClass;
  SignedPreKeyStore: AbstractClass;
  KyberPreKeyStore: AbstractClass;
  processPreKeyBundle(
    bundle: PreKeyBundle,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
  ): Promise<void>;
  signalEncrypt(
    message: Uint8Array,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
  ): Promise<CiphertextMessage>;
  signalDecrypt(
    message: SignalMessage,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
  ): Promise<Uint8Array>;
  signalDecryptPreKey(
    message: PreKeySignalMessage,
    address: ProtocolAddress,
    localAddress: ProtocolAddress,
    sessionStore: SessionStoreLike,
    identityStore: IdentityKeyStoreLike,
    preKeyStore: PreKeyStoreLike,
    signedPreKeyStore: SignedPreKeyStoreLike,
    kyberPreKeyStore: KyberPreKeyStoreLike,
  ): Promise<Uint8Array>;
}

const requiredFunctions = [
  'processPreKeyBundle',
  'signalEncrypt',
  'signalDecrypt',
  'signalDecryptPreKey',
  'PrivateKey',
  'KEMKeyPair',
  'ProtocolAddress',
  'SessionRecord',
  'PreKeyRecord',
  'SignedPreKeyRecord',
  'KyberPreKeyRecord',
  'PreKeyBundle',
  'SignalMessage',
  'PreKeySignalMessage',
  'SessionStore',
  'IdentityKeyStore',
  'PreKeyStore',
  'SignedPreKeyStore',
  'KyberPreKeyStore',
] as const;

export function isLibsignal(mod: unknown): mod is Libsignal {
  if (typeof mod !== 'object' || mod === null) return false;
  const record = mod as Record<string, unknown>;
  for (const name of requiredFunctions) {
    if (typeof record[name] !== 'function') return false;
  }
  const types = record['CiphertextMessageType'] as Record<string, unknown> | undefined;
  const change = record['IdentityChange'] as Record<string, unknown> | undefined;
  return (
    typeof types?.['Whisper'] === 'number' &&
    typeof types['PreKey'] === 'number' &&
    typeof change?.['NewOrUnchanged'] === 'number' &&
    typeof change['ReplacedExisting'] === 'number'
  );
}
