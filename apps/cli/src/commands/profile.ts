// `ghostproof profile name <name>`: the display name, sent encrypted to every active
// conversation (the server never sees it).
import { defineGroup, type CommandSpec } from '../cli/define.js';
import { UsageError } from '../config/usage-error.js';
import { withOnlineSession } from '../session/session.js';

const name: CommandSpec = {
  name: 'name',
  summary: 'set your display name (sent to your conversations)',
  usage: 'profile name <name...>',
  description:
    'Sets the display name your contacts see, sent end-to-end encrypted to every active conversation.',
  minArgs: 1,
  maxArgs: Infinity,
  async run({ settings, out, args }) {
    const displayName = args.join(' ').trim();
    if (displayName === '' || displayName.length > 100) throw new UsageError('a name of 1 to 100 characters');
    await withOnlineSession(settings, out, async ({ messenger }) => {
      await messenger.setProfileName(displayName);
      const count = (await messenger.listConversations()).filter((c) => c.status === 'active').length;
      out.result(
        { name: displayName, conversations: count },
        `Display name set to "${displayName}" (sent to ${count} conversation${count === 1 ? '' : 's'})`,
      );
    });
  },
};

export const profile = defineGroup({
  name: 'profile',
  summary: 'set your display name',
  description: 'Your profile as your contacts see it.',
  subcommands: [name],
});
