// `ghostproof send <user|conversation> <text>`: one text message. The message is encrypted
// and written to the outbox before it goes on the wire, so a command that dies halfway loses
// nothing: the next ghostproof command sends what the outbox holds (the server drops a
// second copy by its client id).
import { defineCommand } from '../cli/define.js';
import { UsageError } from '../config/usage-error.js';
import { conversationToSend, describeConversation } from '../session/names.js';
import { withOnlineSession } from '../session/session.js';

export const send = defineCommand({
  name: 'send',
  summary: 'send a text message to a user or conversation',
  usage: 'send <user|conversation> <text...>',
  description: [
    'Sends <text> (the rest of the line) to a person, starting a 1:1 conversation if there is',
    'none, or to a conversation named by a prefix of its id. Waits until the server has it.',
    'Put -- before text that starts with "-".',
  ].join('\n'),
  minArgs: 2,
  maxArgs: Infinity,
  async run({ settings, out, args }) {
    const text = args.slice(1).join(' ');
    if (text.trim() === '') throw new UsageError('the message is empty');
    await withOnlineSession(settings, out, async (session) => {
      const { messenger } = session;
      const info = await conversationToSend(messenger, args[0]!);
      session.armTestKill();
      const messageId = await messenger.sendText(info.id, text);
      await session.drain();
      const all = await messenger.listConversations();
      out.result(
        { conversation: info.id, message: messageId, state: 'sent' },
        `Sent to ${describeConversation(info, all)}`,
      );
    });
  },
});
