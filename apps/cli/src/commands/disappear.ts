// `ghostproof disappear <conversation> <duration>`: messages sent from now on disappear that
// long after they are sent (or received), on every member's device. They are deleted from
// the profile's database (and its write-ahead log) by the next ghostproof command that runs
// after the timer, or at once while `chat` or `receive --wait` runs.
import { defineCommand } from '../cli/define.js';
import { CliError } from '../cli/errors.js';
import { UsageError } from '../config/usage-error.js';
import { conversationToSend, describeConversation } from '../session/names.js';
import { withOnlineSession } from '../session/session.js';
import { formatDuration } from '../ui/format.js';

export { formatDuration };

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const MAX_SECONDS = 365 * 86_400;

/** "30s", "5m", "1h", "1d", "2w", or "off" (0). */
export function parseDuration(raw: string): number {
  if (raw === 'off' || raw === '0') return 0;
  const match = /^(\d+)\s*([smhdw])$/.exec(raw.trim().toLowerCase());
  if (!match) throw new UsageError(`expected a duration such as 30s, 5m, 1h, 1d or off, got "${raw}"`);
  const seconds = Number(match[1]) * unitSeconds[match[2]!]!;
  if (seconds < 1 || seconds > MAX_SECONDS) throw new UsageError('a duration from 1s to 365d');
  return seconds;
}

export const disappear = defineCommand({
  name: 'disappear',
  summary: 'set the disappearing-message timer of a conversation',
  usage: 'disappear <user|conversation> <duration|off>',
  description: [
    'Messages sent from now on disappear <duration> after they are sent (30s, 5m, 1h, 1d, 2w),',
    'on every member’s device, members added later included; "off" stops it. In a group only',
    'an admin can set it. A message is deleted from the profile (database and write-ahead',
    'log) by the next ghostproof command after its time, or at once while chat or receive',
    '--wait is running.',
  ].join('\n'),
  minArgs: 2,
  maxArgs: 2,
  async run({ settings, out, args }) {
    const seconds = parseDuration(args[1]!);
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await conversationToSend(messenger, args[0]!);
      const all = await messenger.listConversations();
      const current = await messenger.settings(info.id);
      if (
        info.kind === 'group' &&
        current.admins.length > 0 &&
        !current.admins.includes(messenger.username)
      ) {
        throw new CliError(
          `only an admin of ${describeConversation(info, all)} can set its timer (${current.admins.join(', ')})`,
        );
      }
      await messenger.setDisappearing(info.id, seconds);
      out.result(
        { conversation: info.id, seconds },
        seconds === 0
          ? `Messages in ${describeConversation(info, all)} no longer disappear`
          : `Messages in ${describeConversation(info, all)} now disappear after ${formatDuration(seconds)}`,
      );
    });
  },
});
