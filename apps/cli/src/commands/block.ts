// `ghostproof block <user>`: their messages are dropped from now on and their pending
// message requests declined; `--undo` unblocks.
import { defineCommand } from '../cli/define.js';
import { usernameArgument } from '../session/names.js';
import { withOnlineSession } from '../session/session.js';

export const block = defineCommand({
  name: 'block',
  summary: 'block a user (their messages are dropped; requests declined)',
  usage: 'block <user> [--undo]',
  description: [
    'Blocks <user>: messages from them are dropped, their message requests are declined, and new',
    'conversations with them are refused. --undo unblocks.',
  ].join('\n'),
  options: { undo: { type: 'boolean', description: 'unblock instead' } },
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args, options }) {
    const username = usernameArgument(args[0]!);
    await withOnlineSession(settings, out, async ({ messenger }) => {
      if (options.undo) {
        await messenger.unblock(username);
        out.result({ unblocked: username }, `Unblocked ${username}`);
      } else {
        await messenger.block(username);
        out.result({ blocked: username }, `Blocked ${username}`);
      }
    });
  },
});
