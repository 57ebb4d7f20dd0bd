// `ghostproof register <username>`: creates the account, with this profile as its first
// device, on the server given by --server (the profile remembers it).
import { Messenger } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import { CliError } from '../cli/errors.js';
import { defineCommand } from '../cli/define.js';
import { Profile } from '../session/profile.js';

export const register = defineCommand({
  name: 'register',
  summary: 'create an account on the server, with this profile as its first device',
  usage: 'register <username> [--invite CODE]',
  description: [
    'Creates the account <username> on the server (--server, default http://localhost:8080) and',
    'makes the profile (--profile, default ~/.ghostproof) its first device. A profile holds one',
    'account on one server; use another --profile for another account.',
  ].join('\n'),
  options: {
    invite: { type: 'string', value: 'CODE', description: 'invite code, if the server requires one' },
  },
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args, options }) {
    const profile = Profile.open(settings, { create: true });
    try {
      const existing = await profile.store.getIdentity();
      if (existing) {
        throw new CliError(
          `the profile ${profile.dir} already holds the account "${existing.username}" on ${existing.serverUrl}; use --profile DIR for another`,
        );
      }
      const messenger = await Messenger.register(
        { serverUrl: settings.serverUrl, store: profile.store, createSocket: nodeWebSocket },
        args[0]!,
        typeof options.invite === 'string' ? options.invite : '',
      );
      await messenger.close();
      out.result(
        { username: messenger.username, device: messenger.deviceId, server: settings.serverUrl },
        `Registered "${messenger.username}" (device ${messenger.deviceId}) on ${settings.serverUrl}; profile ${profile.dir}`,
      );
    } finally {
      await profile.close();
    }
  },
});
