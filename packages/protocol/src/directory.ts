// Where verified device lists come from. The protocol never trusts the server's word about
// who owns which key: a DeviceDirectory returns only lists whose signature (and, once key
// transparency is wired in, whose inclusion proof) it has checked.
import type { DeviceList } from '@ghostproof/api';

export interface DeviceDirectory {
  /**
   * The account's current verified device list, or undefined if there is no such account.
   * Throws ProtocolError('directory-unavailable') when it cannot answer now (offline, the
   * server busy): the authentication service passes that through, and a commit or Welcome
   * that needed the answer is retried later instead of being judged. Any other error is a
   * verdict: the credential is refused.
   */
  lookup(username: string): Promise<DeviceList | undefined>;
}

/** A directory over lists the caller has already verified (tests, and the client's cache). */
export class VerifiedListDirectory implements DeviceDirectory {
  private readonly lists = new Map<string, DeviceList>();

  constructor(lists: Iterable<DeviceList> = []) {
    for (const list of lists) this.put(list);
  }

  /** Keeps the newest list per account; an older sequence never replaces a newer one. */
  put(list: DeviceList): void {
    const current = this.lists.get(list.username);
    if (!current || list.sequence > current.sequence) this.lists.set(list.username, list);
  }

  async lookup(username: string): Promise<DeviceList | undefined> {
    return this.lists.get(username);
  }
}
