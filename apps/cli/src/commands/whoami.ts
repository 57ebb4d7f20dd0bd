// `ghostproof whoami`: the profile's account and device, from the local store only.
import { defineCommand } from '../cli/define.js';
import { withOfflineSession } from '../session/session.js';

export const whoami = defineCommand({
  name: 'whoami',
  summary: 'show the account and device of this profile',
  usage: 'whoami',
  description: 'Shows the account, device and server of the profile. Works offline.',
  minArgs: 0,
  maxArgs: 0,
  async run({ settings, out }) {
    await withOfflineSession(
      settings,
      out,
      async (session) => {
        const { username, deviceId, serverUrl } = session.identity;
        out.result(
          { username, device: deviceId },
          `${username} (device ${deviceId}) on ${serverUrl}; profile ${session.profile.dir}`,
        );
      },
      { lock: false },
    );
  },
});
