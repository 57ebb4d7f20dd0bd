// The conversations the load runs in: 1:1 MLS groups set up through the server as clients
// would (key packages uploaded and claimed, a commit with a Welcome), with made-up contents.
import { platformPrimitives } from '@ghostproof/crypto';
import {
  ContentType,
  encodePrivateMessage,
  encodeWelcome,
  keyPackageRef,
  parseKeyPackage,
  routes,
} from '@ghostproof/api';
import { call, keyPackage, type Account } from './accounts.js';
import { messageTemplate, type OursClient } from './clients.js';
import { inBatches } from './processes.js';

export interface ConversationSetup {
  readonly accounts: readonly Account[];
  /** Client i (device 1 of account i), connected to the node at bases[i]. */
  readonly clients: readonly OursClient[];
  /** The HTTP base URL each client's node answers on. */
  readonly bases: readonly string[];
  readonly groupsPerClient: number;
  /** Picks a random peer for client i (default: any client; i itself is skipped). */
  readonly peerOf?: (i: number) => number;
}

/**
 * Uploads key packages for every client, then has every client create groupsPerClient 1:1
 * MLS groups with random peers (createGroup, claim of the peer's key package, a commit with
 * a Welcome), so that each client ends with its own groups and those peers created with it.
 */
export async function setUpConversations(setup: ConversationSetup): Promise<void> {
  const { accounts, clients, bases, groupsPerClient } = setup;
  const count = clients.length;
  const randomPeer = setup.peerOf ?? (() => Math.floor(Math.random() * count));
  await inBatches([...clients.keys()], 32, async (i) => {
    const kps = await Promise.all(
      Array.from({ length: 2 * groupsPerClient + 4 }, () => keyPackage(accounts[i]!)),
    );
    const last = await keyPackage(accounts[i]!);
    await call(
      bases[i]!,
      routes.uploadKeyPackages,
      { oneTime: kps.map((k) => k.bytes), lastResort: last.bytes },
      accounts[i]!.tokens[0],
    );
  });
  await inBatches([...clients.keys()], 32, async (i) => {
    const client = clients[i]!;
    const peers = new Set<number>();
    while (peers.size < groupsPerClient) {
      const p = randomPeer(i);
      if (p !== i) peers.add(p);
    }
    for (const peer of peers) {
      const groupId = crypto.getRandomValues(new Uint8Array(16));
      await client.request({ case: 'createGroup', value: { groupId } });
      const claim = await call(
        bases[i]!,
        routes.claimKeyPackages,
        { username: accounts[peer]!.username },
        accounts[i]!.tokens[0],
      );
      const kp = claim.keyPackages[0]!;
      const ref = await keyPackageRef(parseKeyPackage(kp.keyPackage), (h, d) =>
        platformPrimitives.digest(h, d),
      );
      const ok = await client.request({
        case: 'sendCommit',
        value: {
          clientId: crypto.getRandomValues(new Uint8Array(16)),
          commit: encodePrivateMessage({
            groupId,
            epoch: 0n,
            contentType: ContentType.Commit,
            encryptedSenderData: crypto.getRandomValues(new Uint8Array(32)),
            ciphertext: crypto.getRandomValues(new Uint8Array(400)),
          }),
          welcome: encodeWelcome({
            cipherSuite: 0xf00d,
            secrets: [
              { keyPackageRef: ref, kemOutput: new Uint8Array(1120), ciphertext: new Uint8Array(100) },
            ],
            encryptedGroupInfo: crypto.getRandomValues(new Uint8Array(800)),
          }),
        },
      });
      if (!ok) throw new Error('group setup failed');
      client.conversations.push(messageTemplate(groupId));
      clients[peer]!.conversations.push(messageTemplate(groupId));
    }
  });
}
