// `ghostproof verify <user>`: the safety number both people compare (digits, and a QR code
// to scan), derived from both accounts' identity keys; --mark records that you compared it.
// If their key changes later, the number changes and sending to them stops until you look.
import QRCode from 'qrcode';
import { defineCommand } from '../cli/define.js';
import { CliError } from '../cli/errors.js';
import { lookupFailure, usernameArgument } from '../session/names.js';
import { withOfflineSession } from '../session/session.js';

export const verify = defineCommand({
  name: 'verify',
  summary: 'show the safety number (digits and QR code) with a user; --mark verified',
  usage: 'verify <user> [--mark]',
  description: [
    'Shows the safety number of you and <user>: compare it in person or over a channel you',
    'trust (both of you see the same 60 digits), or scan the QR code. If it matches, run again',
    'with --mark. A change of their identity key changes the number and is reported.',
  ].join('\n'),
  options: {
    mark: { type: 'boolean', description: 'mark the user as verified (after comparing)' },
    'no-qr': { type: 'boolean', description: 'digits only' },
  },
  minArgs: 1,
  maxArgs: 1,
  async run({ settings, out, args, options }) {
    const username = usernameArgument(args[0]!);
    await withOfflineSession(settings, out, async (session) => {
      const { messenger } = session;
      if (username === messenger.username)
        throw new CliError('a safety number is between you and someone else');
      const number = await messenger.safetyNumber(username).catch((error: unknown) => {
        throw lookupFailure(username, error);
      });
      const before = await session.profile.store.getContact(username);
      const changed = before !== undefined && before.identityChangedAt > 0;
      if (options.mark) {
        if (changed) await messenger.acknowledgeIdentityChange(username);
        await messenger.markVerified(username);
      }
      const verified = options.mark === true || (before?.verified === true && !changed);
      if (out.json) {
        out.result({ username, safety_number: number.digits, verified, identity_changed: changed }, '');
        return;
      }
      const groups = number.digits.split(' ');
      out.text(`Safety number with ${username}:\n`);
      for (let row = 0; row < 3; row++) out.text(`    ${groups.slice(row * 4, row * 4 + 4).join('  ')}`);
      if (!options['no-qr']) {
        const qr = await QRCode.toString([{ data: number.qrPayload, mode: 'byte' }], {
          type: 'terminal',
          small: true,
          errorCorrectionLevel: 'M',
        });
        out.text(`\n${qr}`);
      }
      if (changed && !options.mark) {
        out.text(
          `WARNING: ${username}'s identity key changed since you last looked. Compare again before trusting it.`,
        );
      }
      if (options.mark) out.text(`\nMarked ${username} as verified.`);
      else if (verified) out.text(`\n${username} is verified.`);
      else out.text(`\nCompare with ${username}; if the numbers match: ghostproof verify ${username} --mark`);
    });
  },
});
