// Accounts for the load, made over the HTTP API as a client would: register, link devices,
// sign in, and the key packages each one uploads.
import { platformPrimitives } from '@ghostproof/crypto';
import {
  decodeResponse,
  deviceListSignatureInput,
  encodeDeviceList,
  encodeKeyPackage,
  encodeRequest,
  encodeSignedDeviceList,
  keyPackageRef,
  parseKeyPackage,
  pathFor,
  PROTOBUF_CONTENT_TYPE,
  routes,
  signInSignatureInput,
  toBase64Url,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
  type Route,
} from '@ghostproof/api';

const ed = platformPrimitives.ed25519;

export async function call<Req extends DescMessage, Res extends DescMessage>(
  base: string,
  route: Route<Req | null, Res>,
  init: MessageInitShape<Req> | undefined,
  token?: Uint8Array,
): Promise<MessageShape<Res>> {
  const headers: Record<string, string> = { 'content-type': PROTOBUF_CONTENT_TYPE };
  if (token) headers.authorization = `Bearer ${toBase64Url(token)}`;
  const body = route.request
    ? new Uint8Array(encodeRequest(route as Route<Req, DescMessage | null>, init!))
    : null;
  const res = await fetch(new URL(pathFor(route), base), { method: route.method, headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw new Error(`${route.name}: HTTP ${res.status} ${res.headers.get('ghostproof-error')}`);
  return decodeResponse(route.response, bytes, 1 << 24);
}

export interface Account {
  readonly username: string;
  /** Devices 1..n; device 1 generates load, all of them can hold an idle connection. */
  readonly devices: { publicKey: Uint8Array; secretKey: Uint8Array }[];
  readonly tokens: Uint8Array[];
}

async function signedList(
  username: string,
  identity: { publicKey: Uint8Array; secretKey: Uint8Array },
  sequence: bigint,
  devices: readonly { publicKey: Uint8Array }[],
): Promise<Uint8Array> {
  const list = encodeDeviceList({
    username,
    identityKey: identity.publicKey,
    sequence,
    issuedAt: BigInt(Date.now()),
    devices: devices.map((d, i) => ({ id: i + 1, signatureKey: d.publicKey, addedAt: BigInt(Date.now()) })),
  });
  const signature = await ed.sign(identity.secretKey, deviceListSignatureInput(list));
  return encodeSignedDeviceList({ list, signature });
}

async function signIn(base: string, username: string, deviceId: number, device: { secretKey: Uint8Array }) {
  const challenge = await call(base, routes.challenge, undefined);
  const clientNonce = crypto.getRandomValues(new Uint8Array(32));
  const signature = await ed.sign(
    device.secretKey,
    signInSignatureInput({
      origin: base,
      serverNonce: challenge.serverNonce,
      clientNonce,
      username,
      deviceId,
    }),
  );
  const session = await call(base, routes.signIn, {
    username,
    deviceId,
    serverNonce: challenge.serverNonce,
    clientNonce,
    signature,
  });
  return session.sessionToken;
}

/**
 * Registers an account with device 1, then links the other devices in one device-list
 * update (two key transparency updates per account, whatever the number of devices), and
 * signs every device in at `base` (the origin a device signs is the node it talks to).
 */
export async function createAccount(base: string, index: number, deviceCount: number): Promise<Account> {
  const identity = await ed.generate();
  const devices = await Promise.all(Array.from({ length: deviceCount }, () => ed.generate()));
  const username = `bench-${index}`;
  await call(base, routes.register, {
    signedDeviceList: await signedList(username, identity, 1n, devices.slice(0, 1)),
  });
  const first = await signIn(base, username, 1, devices[0]!);
  if (deviceCount > 1) {
    await call(
      base,
      routes.updateDeviceList,
      { signedDeviceList: await signedList(username, identity, 2n, devices) },
      first,
    );
  }
  const tokens = [first];
  for (let d = 2; d <= deviceCount; d++) tokens.push(await signIn(base, username, d, devices[d - 1]!));
  return { username, devices, tokens };
}

export async function keyPackage(account: Account): Promise<{ bytes: Uint8Array; ref: Uint8Array }> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const bytes = await encodeKeyPackage(
    {
      cipherSuite: 0xf00d,
      initKey: crypto.getRandomValues(new Uint8Array(32)),
      encryptionKey: crypto.getRandomValues(new Uint8Array(32)),
      signatureKey: account.devices[0]!.publicKey,
      identity: new TextEncoder().encode(account.username),
      notBefore: now - 60n,
      notAfter: now + 86_400n,
    },
    (m) => ed.sign(account.devices[0]!.secretKey, m),
  );
  return {
    bytes,
    ref: await keyPackageRef(parseKeyPackage(bytes), (h, d) => platformPrimitives.digest(h, d)),
  };
}
