// `ghostproof devices`: this account's devices, from its device list as fetched and verified
// (signed by the account's identity key, pinned at first sight) — what every other client
// sees, so a device the account did not link stands out.
import { createHash } from 'node:crypto';
import { defineCommand } from '../cli/define.js';
import { withOfflineSession } from '../session/session.js';

function fingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16).match(/.{4}/g)!.join(' ');
}

export const devices = defineCommand({
  name: 'devices',
  summary: "list the account's devices from its verified device list",
  usage: 'devices',
  description: [
    'Fetches the account’s signed device list from the server, verifies it against the',
    'account’s identity key, and lists the devices. A device you did not link is an attack.',
  ].join('\n'),
  minArgs: 0,
  maxArgs: 0,
  async run({ settings, out }) {
    await withOfflineSession(settings, out, async ({ messenger, identity }) => {
      const list = await messenger.lookup(messenger.username);
      const own = list.devices.find((d) => d.id === identity.deviceId);
      if (!own || fingerprint(own.signatureKey) !== fingerprint(identity.devicePublicKey)) {
        out.note('WARNING: this device is not on the account’s device list as the server serves it');
      }
      out.text(`${list.username}: ${list.devices.length} device(s), device list version ${list.sequence}`);
      for (const device of list.devices) {
        const self = device.id === messenger.deviceId;
        const added = new Date(Number(device.addedAt)).toISOString();
        out.result(
          { device: device.id, key: fingerprint(device.signatureKey), added_at: added, this_device: self },
          `  device ${device.id}  key ${fingerprint(device.signatureKey)}  linked ${added}${self ? '  (this device)' : ''}`,
        );
      }
    });
  },
});
