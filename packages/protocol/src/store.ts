// Storage is passed in by the caller through this async interface (STYLE.md). The in-memory
// store serves tests; the client SDK brings SQLite (Node) and IndexedDB (browsers) stores,
// which encrypt records at rest: conversation records and private key packages hold
// private keys.

export interface StoredKeyPackage {
  readonly publicBytes: Uint8Array;
  readonly privateBytes: Uint8Array;
  readonly lastResort: boolean;
}

export interface ProtocolStore {
  putKeyPackage(ref: Uint8Array, keyPackage: StoredKeyPackage): Promise<void>;
  getKeyPackage(ref: Uint8Array): Promise<StoredKeyPackage | undefined>;
  deleteKeyPackage(ref: Uint8Array): Promise<void>;
  countKeyPackages(): Promise<{ oneTime: number; lastResort: number }>;
  putConversation(groupId: Uint8Array, record: Uint8Array): Promise<void>;
  getConversation(groupId: Uint8Array): Promise<Uint8Array | undefined>;
  deleteConversation(groupId: Uint8Array): Promise<void>;
  listConversations(): Promise<Uint8Array[]>;
}

const key = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromKey = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

export class MemoryProtocolStore implements ProtocolStore {
  private readonly keyPackages = new Map<string, StoredKeyPackage>();
  private readonly conversations = new Map<string, Uint8Array>();

  async putKeyPackage(ref: Uint8Array, keyPackage: StoredKeyPackage): Promise<void> {
    this.keyPackages.set(key(ref), keyPackage);
  }

  async getKeyPackage(ref: Uint8Array): Promise<StoredKeyPackage | undefined> {
    return this.keyPackages.get(key(ref));
  }

  async deleteKeyPackage(ref: Uint8Array): Promise<void> {
    this.keyPackages.delete(key(ref));
  }

  async countKeyPackages(): Promise<{ oneTime: number; lastResort: number }> {
    let oneTime = 0;
    let lastResort = 0;
    for (const kp of this.keyPackages.values()) {
      if (kp.lastResort) lastResort++;
      else oneTime++;
    }
    return { oneTime, lastResort };
  }

  async putConversation(groupId: Uint8Array, record: Uint8Array): Promise<void> {
    this.conversations.set(key(groupId), record.slice());
  }

  async getConversation(groupId: Uint8Array): Promise<Uint8Array | undefined> {
    return this.conversations.get(key(groupId))?.slice();
  }

  async deleteConversation(groupId: Uint8Array): Promise<void> {
    this.conversations.delete(key(groupId));
  }

  async listConversations(): Promise<Uint8Array[]> {
    return [...this.conversations.keys()].map(fromKey);
  }
}
