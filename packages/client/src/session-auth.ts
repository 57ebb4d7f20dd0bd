// Signing in: this device proves itself to the server with a structure it builds itself
// (DESIGN.md: label, origin, both nonces) and keeps the session token until near its expiry.
import { routes, signInSignatureInput } from '@ghostproof/api';
import { createPlatformPrimitives } from '@ghostproof/crypto';
import { randomBytes } from './bytes.js';
import type { Clock } from './clock.js';
import type { HttpApi } from './http.js';
import type { StoredIdentity } from './store.js';

/** A token this close to its expiry is renewed before use. */
const TOKEN_RENEW_MARGIN_MS = 60_000;

export class SessionAuth {
  private token: { value: Uint8Array; expiresAt: number } | undefined;
  private origin: string | undefined;
  private signingIn: Promise<Uint8Array> | undefined;

  constructor(
    private readonly http: HttpApi,
    private readonly identity: StoredIdentity,
    private readonly clock: Clock,
  ) {}

  /**
   * The current session token, or a new one (signing in) when there is none, it is about to
   * expire, or `refresh` (the server refused it).
   * @throws ClientError `offline` (server unreachable); ApiError from the challenge or sign-in
   *   (`unauthenticated` when the server does not know this device, `rate-limited`, `unavailable`).
   */
  async sessionToken(refresh: boolean): Promise<Uint8Array> {
    if (!refresh && this.token && this.token.expiresAt > this.clock.now() + TOKEN_RENEW_MARGIN_MS)
      return this.token.value;
    // Callers that need a token at the same moment share one sign-in.
    this.signingIn ??= this.signIn().finally(() => {
      this.signingIn = undefined;
    });
    return this.signingIn;
  }

  private async signIn(): Promise<Uint8Array> {
    this.origin ??= (await this.http.call(routes.serverInfo)).origin;
    const challenge = await this.http.call(routes.challenge);
    const clientNonce = randomBytes(32);
    const platform = await createPlatformPrimitives();
    const signature = await platform.ed25519.sign(
      this.identity.deviceSecretKey,
      signInSignatureInput({
        origin: this.origin,
        serverNonce: challenge.serverNonce,
        clientNonce,
        username: this.identity.username,
        deviceId: this.identity.deviceId,
      }),
    );
    const session = await this.http.call(routes.signIn, {
      body: {
        username: this.identity.username,
        deviceId: this.identity.deviceId,
        serverNonce: challenge.serverNonce,
        clientNonce,
        signature,
      },
    });
    this.token = { value: session.sessionToken, expiresAt: Number(session.expiresAtMs) };
    return session.sessionToken;
  }
}
