// `ghostproof group ...`: create a group, add and remove members, list them, leave. Every
// membership change is an MLS commit signed by a member; each member's client derives the
// roster from the commits it processed, so the server cannot add anyone unseen.
import type { Messenger } from '@ghostproof/client';
import { CliError } from '../cli/errors.js';
import { defineGroup, type CommandSpec } from '../cli/define.js';
import {
  describeConversation,
  existingConversation,
  lookupAccount,
  shortId,
  usernameArgument,
} from '../session/names.js';
import { withOnlineSession } from '../session/session.js';

async function activeGroup(messenger: Messenger, ref: string) {
  const info = await existingConversation(messenger, ref);
  const all = await messenger.listConversations();
  if (info.kind !== 'group') throw new CliError(`${describeConversation(info, all)} is a 1:1, not a group`);
  if (info.status === 'request') {
    throw new CliError(
      `${describeConversation(info, all)} is a message request: accept it first ("ghostproof requests accept ${shortId(info.id, all)}")`,
    );
  }
  if (info.status !== 'active')
    throw new CliError(`you are no longer a member of ${describeConversation(info, all)}`);
  return info;
}

const create: CommandSpec = {
  name: 'create',
  summary: 'create a group with these members; prints its id',
  usage: 'group create <name> <user...>',
  description: [
    'Creates a group named <name> with you and the given users (every device of each, as',
    'listed in their verified device lists) and prints the group’s id.',
  ].join('\n'),
  minArgs: 2,
  maxArgs: 64,
  async run({ settings, out, args }) {
    const [name, ...users] = args as [string, ...string[]];
    const usernames = [...new Set(users.map(usernameArgument))];
    await withOnlineSession(settings, out, async ({ messenger }) => {
      if (usernames.includes(messenger.username))
        throw new CliError('you are in the group already: name the others');
      for (const username of usernames) {
        await lookupAccount(messenger, username);
      }
      const id = await messenger.createGroup(name, usernames);
      const all = await messenger.listConversations();
      out.result(
        { conversation: id, short: shortId(id, all), name, members: [messenger.username, ...usernames] },
        `Created group "${name}" ${shortId(id, all)} with ${usernames.join(', ')}\n${id}`,
      );
    });
  },
};

const add: CommandSpec = {
  name: 'add',
  summary: 'add a user to a group',
  usage: 'group add <conversation> <user>',
  description: 'Adds <user> (all devices on their verified device list) to the group.',
  minArgs: 2,
  maxArgs: 2,
  async run({ settings, out, args }) {
    const username = usernameArgument(args[1]!);
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await activeGroup(messenger, args[0]!);
      if ((await messenger.members(info.id)).some((m) => m.username === username)) {
        throw new CliError(`${username} is already a member`);
      }
      await lookupAccount(messenger, username);
      await messenger.addMembers(info.id, [username]);
      const all = await messenger.listConversations();
      out.result(
        { conversation: info.id, added: username },
        `Added ${username} to ${describeConversation(info, all)}`,
      );
    });
  },
};

const remove: CommandSpec = {
  name: 'remove',
  summary: 'remove a user from a group',
  usage: 'group remove <conversation> <user>',
  description: 'Removes <user> (all their devices) from the group; they receive nothing sent after.',
  minArgs: 2,
  maxArgs: 2,
  async run({ settings, out, args }) {
    const username = usernameArgument(args[1]!);
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await activeGroup(messenger, args[0]!);
      if (username === messenger.username)
        throw new CliError('to leave a group use "ghostproof group leave"');
      if (!(await messenger.members(info.id)).some((m) => m.username === username)) {
        throw new CliError(`${username} is not a member`);
      }
      await messenger.removeMember(info.id, username);
      const all = await messenger.listConversations();
      out.result(
        { conversation: info.id, removed: username },
        `Removed ${username} from ${describeConversation(info, all)}`,
      );
    });
  },
};

const members: CommandSpec = {
  name: 'members',
  summary: 'list the members of a conversation and their devices',
  usage: 'group members <conversation>',
  description: [
    'Lists the members as this device derived them from the commits it processed (never from',
    'the server’s word), with their devices, admins and who you verified.',
  ].join('\n'),
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args }) {
    await withOnlineSession(settings, out, async (session) => {
      const { messenger } = session;
      const info = await existingConversation(messenger, args[0]!);
      const all = await messenger.listConversations();
      out.text(`${describeConversation(info, all)}${info.status === 'active' ? '' : ` [${info.status}]`}:`);
      for (const member of await messenger.members(info.id)) {
        const contact = await session.profile.store.getContact(member.username);
        const you = member.username === messenger.username;
        const admin = info.admins.includes(member.username);
        const verified = contact?.verified === true;
        const tags = [you ? 'you' : '', admin ? 'admin' : '', verified ? 'verified' : '']
          .filter(Boolean)
          .join(', ');
        out.result(
          {
            conversation: info.id,
            username: member.username,
            devices: [...member.deviceIds],
            admin,
            verified,
            you,
          },
          `  ${member.username}  device${member.deviceIds.length === 1 ? '' : 's'} ${member.deviceIds.join(', ')}${tags ? `  (${tags})` : ''}`,
        );
      }
    });
  },
};

const admins: CommandSpec = {
  name: 'admins',
  summary: 'set who the admins of a group are',
  usage: 'group admins <conversation> <user...>',
  description: [
    'Replaces the group’s admin list with the given members (include yourself to stay one).',
    'Only an admin can; admins alone change the admin list and the disappearing timer. The',
    'list is part of the group’s signed state: every member, and everyone added later, holds',
    'the same one.',
  ].join('\n'),
  minArgs: 2,
  maxArgs: 65,
  async run({ settings, out, args }) {
    const [ref, ...users] = args as [string, ...string[]];
    const usernames = [...new Set(users.map(usernameArgument))].sort();
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await activeGroup(messenger, ref);
      const all = await messenger.listConversations();
      const current = await messenger.settings(info.id);
      if (current.admins.length > 0 && !current.admins.includes(messenger.username)) {
        throw new CliError(
          `only an admin of ${describeConversation(info, all)} can change its admins (${current.admins.join(', ')})`,
        );
      }
      const members = new Set((await messenger.members(info.id)).map((m) => m.username));
      const strangers = usernames.filter((u) => !members.has(u) && !current.admins.includes(u));
      if (strangers.length > 0) throw new CliError(`not a member: ${strangers.join(', ')}`);
      await messenger.setAdmins(info.id, usernames);
      out.result(
        { conversation: info.id, admins: usernames },
        `Admins of ${describeConversation(info, all)}: ${usernames.join(', ')}`,
      );
    });
  },
};

const leave: CommandSpec = {
  name: 'leave',
  summary: 'leave a group',
  usage: 'group leave <conversation>',
  description: 'Leaves the group: the next member to commit removes you; you receive nothing after.',
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args }) {
    await withOnlineSession(settings, out, async ({ messenger }) => {
      const info = await activeGroup(messenger, args[0]!);
      await messenger.leave(info.id);
      const all = await messenger.listConversations();
      out.result({ conversation: info.id, status: 'left' }, `Left ${describeConversation(info, all)}`);
    });
  },
};

export const group = defineGroup({
  name: 'group',
  summary: 'create groups; add, remove and list members; set admins; leave',
  description: 'Group conversations. <conversation> is a prefix of the group’s id (as printed by create).',
  subcommands: [create, add, remove, members, admins, leave],
});
