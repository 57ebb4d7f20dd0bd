// `ghostproof requests`: conversations started by someone this account has not messaged or
// accepted. Until accepted, nothing is sent back to them (not even delivery receipts).
import type { ConversationInfo, Messenger } from '@ghostproof/client';
import { CliError } from '../cli/errors.js';
import { defineGroup, type CommandSpec } from '../cli/define.js';
import { describeConversation, existingConversation, shortId } from '../session/names.js';
import { withOnlineSession } from '../session/session.js';
import { formatTime } from '../ui/format.js';
import { sanitize } from '../ui/terminal-text.js';

async function request(messenger: Messenger, ref: string): Promise<ConversationInfo> {
  const info = await existingConversation(messenger, ref);
  if (info.status !== 'request') {
    const all = await messenger.listConversations();
    throw new CliError(`${describeConversation(info, all)} is not a message request (it is ${info.status})`);
  }
  return info;
}

const list: CommandSpec = {
  name: 'list',
  summary: 'list message requests (the default)',
  usage: 'requests [list]',
  description: 'Fetches what waits on the server and lists pending message requests.',
  minArgs: 0,
  maxArgs: 0,
  async run({ settings, out }) {
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const all = await messenger.listConversations();
      const pending = all.filter((c) => c.status === 'request');
      if (pending.length === 0) out.text('No message requests.');
      for (const info of pending) {
        const members = (await messenger.members(info.id)).map((m) => m.username);
        const messages = await messenger.messages(info.id);
        const id = shortId(info.id, all);
        out.result(
          {
            conversation: info.id,
            kind: info.kind,
            ...(info.peer ? { from: info.peer } : {}),
            name: info.name,
            members,
            messages: messages.length,
          },
          info.kind === 'direct'
            ? `${id}  from ${info.peer}  ${messages.length} message(s)  ${formatTime(info.lastActivity)}`
            : `${id}  group "${sanitize(info.name)}" with ${members.join(', ')}  ${messages.length} message(s)`,
        );
      }
      if (pending.length > 0) out.text('Answer with: ghostproof requests accept|decline|block <id>');
    });
  },
};

const accept: CommandSpec = {
  name: 'accept',
  summary: 'accept a message request',
  usage: 'requests accept <conversation>',
  description: 'Accepts the request: you can reply, and senders get delivery and read receipts.',
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args }) {
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await request(messenger, args[0]!);
      await messenger.accept(info.id);
      const all = await messenger.listConversations();
      out.result({ conversation: info.id, status: 'active' }, `Accepted ${describeConversation(info, all)}`);
    });
  },
};

const decline: CommandSpec = {
  name: 'decline',
  summary: 'decline a message request (and leave it)',
  usage: 'requests decline <conversation>',
  description: 'Declines the request: you leave the conversation and its messages are dropped.',
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args }) {
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await request(messenger, args[0]!);
      await messenger.decline(info.id);
      const all = await messenger.listConversations();
      out.result(
        { conversation: info.id, status: 'declined' },
        `Declined ${describeConversation(info, all)}`,
      );
    });
  },
};

const blockRequest: CommandSpec = {
  name: 'block',
  summary: 'decline a request and block who sent it',
  usage: 'requests block <conversation>',
  description: [
    'Declines the request and blocks the sender: for a 1:1 the other person, for a group its',
    'admins (who added you).',
  ].join('\n'),
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args }) {
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await request(messenger, args[0]!);
      const targets =
        info.kind === 'direct'
          ? info.peer
            ? [info.peer]
            : []
          : info.admins.filter((a) => a !== messenger.username);
      if (targets.length === 0) {
        throw new CliError(
          'cannot tell who sent this request: decline it, then block people with "ghostproof block <user>"',
        );
      }
      for (const username of targets) await messenger.block(username);
      const current = await messenger.conversationInfo(info.id);
      if (current.status === 'request') await messenger.decline(info.id);
      const all = await messenger.listConversations();
      out.result(
        { conversation: info.id, status: 'declined', blocked: targets },
        `Declined ${describeConversation(info, all)} and blocked ${targets.join(', ')}`,
      );
    });
  },
};

export const requests = defineGroup({
  name: 'requests',
  summary: 'list message requests; accept, decline or block them',
  description: [
    'A conversation started by someone you have not messaged arrives as a message request.',
    'Until you accept it you cannot reply and the sender gets no receipts.',
  ].join('\n'),
  fallback: list,
  subcommands: [list, accept, decline, blockRequest],
});
