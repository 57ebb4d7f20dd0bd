// Keeps the server stocked with this device's key packages, so that others can add it to
// conversations while it is offline.
import { routes } from '@ghostproof/api';
import { defaultCiphersuite, type CiphersuiteId } from '@ghostproof/crypto';
import type { MessengerContext } from './context.js';
import { KEY_PACKAGE_BATCH, KEY_PACKAGE_LOW_WATER } from './options.js';

/**
 * Uploads a batch of one-time key packages when fewer than KEY_PACKAGE_LOW_WATER are left,
 * and a last-resort one when there is none.
 * @throws ClientError `offline`; ApiError from counting or uploading (`unauthenticated`,
 *   `rate-limited`, `unavailable`, `too-large`).
 */
export async function replenishKeyPackages(
  context: Pick<MessengerContext, 'http' | 'protocol' | 'sessionToken'>,
  cipherSuite: CiphersuiteId = defaultCiphersuite,
): Promise<void> {
  const token = await context.sessionToken(false);
  const count = await context.http.call(routes.countKeyPackages, { token });
  if (count.oneTime >= KEY_PACKAGE_LOW_WATER && count.lastResort) return;
  const { oneTime, lastResort } = await context.protocol.generateKeyPackages(
    count.oneTime >= KEY_PACKAGE_LOW_WATER ? 0 : KEY_PACKAGE_BATCH,
    cipherSuite,
  );
  await context.http.call(routes.uploadKeyPackages, { token, body: { oneTime, lastResort } });
}
