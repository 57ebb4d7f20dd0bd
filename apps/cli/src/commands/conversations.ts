// `ghostproof conversations`: every conversation of the profile with its short id, from the
// local store (run `receive` first to pick up new ones).
import { defineCommand } from '../cli/define.js';
import { describeConversation, shortId } from '../session/names.js';
import { withOfflineSession } from '../session/session.js';
import { formatTime } from '../ui/format.js';

export const conversations = defineCommand({
  name: 'conversations',
  summary: 'list conversations with their short ids',
  usage: 'conversations',
  description: [
    'Lists the conversations of this profile, newest first: id prefix, kind, who or what, status,',
    'unread count. Works offline from what earlier commands received.',
  ].join('\n'),
  minArgs: 0,
  maxArgs: 0,
  async run({ settings, out }) {
    await withOfflineSession(settings, out, async ({ messenger }) => {
      const all = await messenger.listConversations();
      if (all.length === 0) out.text('No conversations yet. Start one: ghostproof send <user> <text>');
      for (const info of all) {
        const status = info.status === 'active' ? '' : `  [${info.status}]`;
        const unread = info.unread > 0 ? `  ${info.unread} unread` : '';
        const timer =
          info.disappearingSeconds > 0 ? `  disappearing after ${info.disappearingSeconds} s` : '';
        out.result(
          {
            conversation: info.id,
            kind: info.kind,
            ...(info.peer ? { peer: info.peer } : {}),
            name: info.name,
            status: info.status,
            unread: info.unread,
            disappearing_seconds: info.disappearingSeconds,
            last_activity: new Date(info.lastActivity).toISOString(),
          },
          `${shortId(info.id, all)}  ${info.kind === 'direct' ? '1:1  ' : 'group'}  ${describeConversation(info, all).replace(/ \([0-9a-f]+\)$/, '')}  ${formatTime(info.lastActivity)}${unread}${status}${timer}`,
        );
      }
    });
  },
});
