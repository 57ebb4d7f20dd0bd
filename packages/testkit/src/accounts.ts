// Accounts as a test holds them, against a real server over HTTP: devices with real Ed25519
// keys, signed device lists, sign-in, KeyPackages built with the api package's encoders (the
// server never decrypts, so their HPKE keys can be random), and `call` for any route.
import assert from 'node:assert/strict';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  decodeResponse,
  deviceListSignatureInput,
  encodeDeviceList,
  encodeKeyPackage,
  encodeRequest,
  encodeSignedDeviceList,
  ErrorBodySchema,
  errorFromBody,
  keyPackageRef,
  parseKeyPackage,
  pathFor,
  PROTOBUF_CONTENT_TYPE,
  routes,
  signInSignatureInput,
  toBase64Url,
  type ApiError,
  type DescMessage,
  type Device,
  type MessageInitShape,
  type MessageShape,
  type Route,
} from '@ghostproof/api';

const ed = platformPrimitives.ed25519;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiError,
  ) {
    super(`${status} ${error.code}: ${error.message}`);
  }
}

/** Calls a route with a protobuf body; returns the decoded response or throws HttpError. */
export async function call<Req extends DescMessage, Res extends DescMessage>(
  base: string,
  route: Route<Req | null, Res>,
  init: Req extends DescMessage ? MessageInitShape<Req> | undefined : undefined,
  options: { token?: Uint8Array; params?: Record<string, string> } = {},
): Promise<MessageShape<Res>> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${toBase64Url(options.token)}`;
  let body: Uint8Array<ArrayBuffer> | null = null;
  if (route.request) {
    body = new Uint8Array(
      encodeRequest(route as Route<Req, DescMessage | null>, (init ?? {}) as MessageInitShape<Req>),
    );
    headers['content-type'] = PROTOBUF_CONTENT_TYPE;
  }
  const res = await fetch(new URL(pathFor(route, options.params), base), {
    method: route.method,
    headers,
    body,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw new HttpError(res.status, errorFromBody(decodeResponse(ErrorBodySchema, bytes, 65536)));
  return decodeResponse(route.response, bytes, 64 * 1024 * 1024);
}

/** Awaits a promise that must fail with an HTTP error of `code`; returns it. */
export async function expectHttpError(promise: Promise<unknown>, code: string): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    assert.equal(error.error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

let deviceCounter = 0;

/** An account with one or more devices, held by the test: keys, device list, sessions. */
export class TestAccount {
  readonly devices = new Map<number, { signatureKey: Uint8Array; secretKey: Uint8Array }>();
  sequence = 0n;
  addedAt = 1_700_000_000_000n;

  private constructor(
    readonly base: string,
    readonly username: string,
    readonly identity: { publicKey: Uint8Array; secretKey: Uint8Array },
  ) {}

  static async create(base: string, username?: string): Promise<TestAccount> {
    const name = username ?? `user-${process.pid}-${++deviceCounter}-${Math.floor(Math.random() * 1e6)}`;
    const account = new TestAccount(base, name, await ed.generate());
    const device = await ed.generate();
    account.devices.set(1, { signatureKey: device.publicKey, secretKey: device.secretKey });
    return account;
  }

  /** The signed device list for the current devices at `sequence`. */
  async signedList(sequence: bigint, identity = this.identity): Promise<Uint8Array> {
    const devices: Device[] = [...this.devices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, d]) => ({ id, signatureKey: d.signatureKey, addedAt: this.addedAt }));
    const list = encodeDeviceList({
      username: this.username,
      identityKey: this.identity.publicKey,
      sequence,
      issuedAt: BigInt(Date.now()),
      devices,
    });
    const signature = await ed.sign(identity.secretKey, deviceListSignatureInput(list));
    return encodeSignedDeviceList({ list, signature });
  }

  async register(inviteCode = ''): Promise<this> {
    await call(this.base, routes.register, { signedDeviceList: await this.signedList(1n), inviteCode });
    this.sequence = 1n;
    return this;
  }

  async addDevice(id: number): Promise<void> {
    const device = await ed.generate();
    this.devices.set(id, { signatureKey: device.publicKey, secretKey: device.secretKey });
  }

  /**
   * Adds device `id` and publishes the next device list with it (signed in as `token`'s
   * device); returns the new device's session token.
   */
  async linkDevice(id: number, token: Uint8Array): Promise<Uint8Array> {
    await this.addDevice(id);
    const sequence = this.sequence + 1n;
    await call(
      this.base,
      routes.updateDeviceList,
      { signedDeviceList: await this.signedList(sequence) },
      { token },
    );
    this.sequence = sequence;
    return this.signIn(id);
  }

  /** Signs in; the challenge comes from this account's server, the answer goes to `answerAt`. */
  async signIn(deviceId = 1, origin?: string, answerAt = this.base): Promise<Uint8Array> {
    const device = this.devices.get(deviceId)!;
    const challenge = await call(this.base, routes.challenge, undefined);
    const clientNonce = crypto.getRandomValues(new Uint8Array(32));
    const signature = await ed.sign(
      device.secretKey,
      signInSignatureInput({
        origin: origin ?? new URL(this.base).origin,
        serverNonce: challenge.serverNonce,
        clientNonce,
        username: this.username,
        deviceId,
      }),
    );
    const res = await call(answerAt, routes.signIn, {
      username: this.username,
      deviceId,
      serverNonce: challenge.serverNonce,
      clientNonce,
      signature,
    });
    return res.sessionToken;
  }

  /** A KeyPackage (MLSMessage) of this device, correctly signed, with its reference. */
  async keyPackage(deviceId = 1, cipherSuite = 1): Promise<{ bytes: Uint8Array; ref: Uint8Array }> {
    const device = this.devices.get(deviceId)!;
    const now = BigInt(Math.floor(Date.now() / 1000));
    const bytes = await encodeKeyPackage(
      {
        cipherSuite,
        initKey: crypto.getRandomValues(new Uint8Array(32)),
        encryptionKey: crypto.getRandomValues(new Uint8Array(32)),
        signatureKey: device.signatureKey,
        identity: new TextEncoder().encode(`${this.username}/${deviceId}`),
        notBefore: now - 60n,
        notAfter: now + 90n * 86_400n,
      },
      (message) => ed.sign(device.secretKey, message),
    );
    const ref = await keyPackageRef(parseKeyPackage(bytes), (hash, data) =>
      platformPrimitives.digest(hash, data),
    );
    return { bytes, ref };
  }
}
