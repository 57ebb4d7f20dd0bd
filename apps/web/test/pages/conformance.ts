// The MLS rules of docs/protocol.md ("The ts-mls patch") inside a real browser, on the
// protocol package as Vite bundles it for the web client: the library self-check passes, and
// a member refuses a one-member remove that carries no update path while accepting the same
// remove with one. The test makes the group and both commits in Node and hands over a
// member's saved conversation; `runConformance` answers what the member saw.
import {
  checkMlsConformance,
  MemoryProtocolStore,
  ProtocolClient,
  ProtocolError,
  verifyDeviceList,
  VerifiedListDirectory,
} from '@ghostproof/protocol';
import { fromHex } from '@ghostproof/testkit/hex';

export interface ConformanceInput {
  readonly username: string;
  readonly deviceId: number;
  readonly publicKey: string;
  readonly secretKey: string;
  readonly groupId: string;
  readonly record: string;
  readonly signedLists: readonly string[];
  readonly withoutPath: string;
  readonly withPath: string;
}

export interface ConformanceResult {
  readonly selfCheck: string;
  readonly withoutPath: string;
  readonly withPath: string;
}

declare global {
  interface Window {
    runConformance(input: ConformanceInput): Promise<ConformanceResult>;
  }
}

async function outcomeOf(input: ConformanceInput, commit: string): Promise<string> {
  const directory = new VerifiedListDirectory();
  for (const signed of input.signedLists) directory.put(await verifyDeviceList(fromHex(signed)));
  const store = new MemoryProtocolStore();
  await store.putConversation(fromHex(input.groupId), fromHex(input.record));
  const client = await ProtocolClient.create({
    device: {
      username: input.username,
      deviceId: input.deviceId,
      signatureKey: { publicKey: fromHex(input.publicKey), secretKey: fromHex(input.secretKey) },
    },
    directory,
    store,
  });
  const conversation = await client.conversation(fromHex(input.groupId));
  if (!conversation) return 'no conversation';
  try {
    const outcome = await conversation.process(fromHex(commit));
    return outcome.kind === 'commit'
      ? `commit: ${outcome.events.map((e) => e.kind).join(', ')}`
      : outcome.kind;
  } catch (error) {
    return ProtocolError.is(error) ? `refused: ${error.code}` : `crashed: ${String(error)}`;
  }
}

window.runConformance = async (input) => {
  let selfCheck = 'passed';
  try {
    await checkMlsConformance();
  } catch (error) {
    selfCheck = ProtocolError.is(error) ? `refused: ${error.code}` : `crashed: ${String(error)}`;
  }
  return {
    selfCheck,
    withoutPath: await outcomeOf(input, input.withoutPath),
    withPath: await outcomeOf(input, input.withPath),
  };
};
document.getElementById('status')!.textContent = 'Ready.';
