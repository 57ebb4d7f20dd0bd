// What a conversation runs with: this device, the directory that vouches for credentials,
// the suite, the limits, the clock and where its record is saved. ts-mls keeps none of this
// in its state, so the MLS context is built from it for every call.
import { unsafeTestingAuthenticationService, type CiphersuiteImpl, type MlsContext } from 'ts-mls';
import { createAuthenticationService } from './auth-service.js';
import type { DeviceDirectory } from './directory.js';
import type { DeviceIdentity } from './identity.js';
import { clientConfigFor, type ProtocolLimits } from './limits.js';

export interface ConversationEnv {
  readonly self: DeviceIdentity;
  readonly directory: DeviceDirectory;
  readonly cipherSuite: CiphersuiteImpl;
  readonly limits: ProtocolLimits;
  readonly clock: () => number;
  readonly persist: (groupId: Uint8Array, record: Uint8Array) => Promise<void>;
  /** Test-only: accept every credential, to show what the checks prevent. Never set in products. */
  readonly unsafeTestingAcceptAllCredentials?: boolean;
  /** Test-only: no fork or gap alarm (see ProtocolClientOptions). Never set in products. */
  readonly unsafeTestingIgnoreForksAndGaps?: boolean;
}

export function authServiceFor(
  env: Pick<ConversationEnv, 'directory' | 'unsafeTestingAcceptAllCredentials'>,
) {
  return env.unsafeTestingAcceptAllCredentials
    ? unsafeTestingAuthenticationService
    : createAuthenticationService(env.directory);
}

/** The ts-mls context of every operation on a conversation in `env`. */
export function mlsContextFor(env: ConversationEnv): MlsContext {
  return {
    cipherSuite: env.cipherSuite,
    authService: authServiceFor(env),
    clientConfig: clientConfigFor(env.limits),
  };
}
