// In-memory stores, subclassing the library's abstract store classes. Records are kept as the
// library's own objects, like the MLS states the benchmark holds in memory on our side; with
// `serializeSessions`, session records go through bytes on every save and load instead, as a
// client that persists them (and libsignal's own test stores) would.
import { randomBytes, randomUUID } from 'node:crypto';
import type {
  IdentityKeyStoreLike,
  KyberPreKeyRecord,
  KyberPreKeyStoreLike,
  Libsignal,
  PreKeyRecord,
  PreKeyStoreLike,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  SessionRecord,
  SessionStoreLike,
  SignedPreKeyRecord,
  SignedPreKeyStoreLike,
} from './libsignal-api.js';

export interface Party {
  readonly address: ProtocolAddress;
  readonly identityKey: PrivateKey;
  readonly registrationId: number;
  readonly sessions: SessionStoreLike;
  readonly identities: IdentityKeyStoreLike;
  readonly preKeys: PreKeyStoreLike;
  readonly signedPreKeys: SignedPreKeyStoreLike;
  readonly kyberPreKeys: KyberPreKeyStoreLike;
}

function addressKey(address: ProtocolAddress): string {
  return `${address.name()}.${address.deviceId()}`;
}

function found<T>(value: T | undefined, what: string): Promise<T> {
  return value === undefined ? Promise.reject(new Error(`${what} not found`)) : Promise.resolve(value);
}

export function createParty(lib: Libsignal, deviceId: number, serializeSessions: boolean): Party {
  const address = lib.ProtocolAddress.new(randomUUID(), deviceId);
  const identityKey = lib.PrivateKey.generate();
  const registrationId = 1 + (randomBytes(2).readUInt16BE() & 0x3fff);

  class MemorySessionStore extends lib.SessionStore implements SessionStoreLike {
    readonly #records = new Map<string, SessionRecord | Uint8Array>();
    #load(name: ProtocolAddress): SessionRecord | undefined {
      const stored = this.#records.get(addressKey(name));
      return stored instanceof Uint8Array ? lib.SessionRecord.deserialize(stored) : stored;
    }
    saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
      this.#records.set(addressKey(name), serializeSessions ? record.serialize() : record);
      return Promise.resolve();
    }
    getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
      return Promise.resolve(this.#load(name) ?? null);
    }
    getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
      return Promise.all(addresses.map((a) => found(this.#load(a), `session for ${addressKey(a)}`)));
    }
  }

  class MemoryIdentityKeyStore extends lib.IdentityKeyStore implements IdentityKeyStoreLike {
    readonly #known = new Map<string, PublicKey>();
    getIdentityKey(): Promise<PrivateKey> {
      return Promise.resolve(identityKey);
    }
    getLocalRegistrationId(): Promise<number> {
      return Promise.resolve(registrationId);
    }
    saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<number> {
      const previous = this.#known.get(addressKey(name));
      this.#known.set(addressKey(name), key);
      const replaced = previous !== undefined && !previous.equals(key);
      return Promise.resolve(
        replaced ? lib.IdentityChange.ReplacedExisting : lib.IdentityChange.NewOrUnchanged,
      );
    }
    isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _direction: number): Promise<boolean> {
      // Trust on first use, then only the same key.
      const known = this.#known.get(addressKey(name));
      return Promise.resolve(known === undefined || known.equals(key));
    }
    getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
      return Promise.resolve(this.#known.get(addressKey(name)) ?? null);
    }
  }

  class MemoryPreKeyStore extends lib.PreKeyStore implements PreKeyStoreLike {
    readonly #records = new Map<number, PreKeyRecord>();
    savePreKey(id: number, record: PreKeyRecord): Promise<void> {
      this.#records.set(id, record);
      return Promise.resolve();
    }
    getPreKey(id: number): Promise<PreKeyRecord> {
      return found(this.#records.get(id), `pre-key ${id}`);
    }
    removePreKey(id: number): Promise<void> {
      this.#records.delete(id);
      return Promise.resolve();
    }
  }

  class MemorySignedPreKeyStore extends lib.SignedPreKeyStore implements SignedPreKeyStoreLike {
    readonly #records = new Map<number, SignedPreKeyRecord>();
    saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
      this.#records.set(id, record);
      return Promise.resolve();
    }
    getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
      return found(this.#records.get(id), `signed pre-key ${id}`);
    }
  }

  class MemoryKyberPreKeyStore extends lib.KyberPreKeyStore implements KyberPreKeyStoreLike {
    readonly #records = new Map<number, KyberPreKeyRecord>();
    readonly #usedBaseKeys = new Map<string, PublicKey[]>();
    saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
      this.#records.set(id, record);
      return Promise.resolve();
    }
    getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
      return found(this.#records.get(id), `kyber pre-key ${id}`);
    }
    markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
      // Last-resort semantics: the Kyber pre-key stays, but a (kyber, signed, base key) triple
      // may be used only once.
      const slot = `${id}/${signedPreKeyId}`;
      const seen = this.#usedBaseKeys.get(slot) ?? [];
      if (seen.some((k) => k.equals(baseKey))) {
        return Promise.reject(new Error(`kyber pre-key ${id} reused with the same base key`));
      }
      seen.push(baseKey);
      this.#usedBaseKeys.set(slot, seen);
      return Promise.resolve();
    }
  }

  return {
    address,
    identityKey,
    registrationId,
    sessions: new MemorySessionStore(),
    identities: new MemoryIdentityKeyStore(),
    preKeys: new MemoryPreKeyStore(),
    signedPreKeys: new MemorySignedPreKeyStore(),
    kyberPreKeys: new MemoryKyberPreKeyStore(),
  };
}
