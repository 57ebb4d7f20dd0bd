// Which received messages this profile has already shown (by `receive` or on the `chat`
// screen), so that each is printed once. The marks live in the store's set of processed
// delivery ids, under their own prefix: encrypted names, nothing readable in the file, and
// forgotten after 30 days. Messages older than 29 days are therefore never printed again.
import type { ClientStore, StoredMessage } from '@ghostproof/client';

const PREFIX = 'cli-printed/';
export const PRINT_WINDOW_MS = 29 * 24 * 3600 * 1000;

export class PrintedMessages {
  constructor(private readonly store: ClientStore) {}

  has(message: StoredMessage): Promise<boolean> {
    return this.store.hasDelivery(`${PREFIX}${message.conversationId}/${message.id}`);
  }

  mark(message: StoredMessage, now = Date.now()): Promise<void> {
    return this.store.putDelivery(`${PREFIX}${message.conversationId}/${message.id}`, now);
  }

  /** Received messages (not sent by this device) not printed yet, oldest first. */
  async unprinted(self: { username: string; deviceId: number }, now = Date.now()): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for (const info of await this.store.listConversationInfos()) {
      if (info.status === 'declined' || info.lastActivity < now - PRINT_WINDOW_MS) continue;
      for (const message of await this.store.listMessages(info.id)) {
        if (message.sender.username === self.username && message.sender.deviceId === self.deviceId) continue;
        if (message.receivedAt < now - PRINT_WINDOW_MS || message.deleted) continue;
        if (message.expiresAt > 0 && message.expiresAt <= now) continue;
        if (!(await this.has(message))) out.push(message);
      }
    }
    return out.sort((a, b) => a.receivedAt - b.receivedAt);
  }
}
