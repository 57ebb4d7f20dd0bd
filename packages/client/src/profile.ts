// A profile's account and services: creating the account on the server (registration), and,
// for an account the profile holds, building the directory, the protocol client and each
// service of the Messenger, given only what it uses.
import { routes } from '@ghostproof/api';
import { createAccount, ProtocolClient, ProtocolError, type Content } from '@ghostproof/protocol';
import { Attachments } from './attachments.js';
import { CommitRunner } from './commit-runner.js';
import { Contacts } from './contacts.js';
import type { MessengerContext } from './context.js';
import { ConversationRegistry } from './conversation-registry.js';
import { Conversations } from './conversations.js';
import { ClientError } from './errors.js';
import { ExpirySweep } from './expiry.js';
import { GroupReset } from './group-reset.js';
import type { HttpApi } from './http.js';
import { Inbound } from './inbound.js';
import { KtDirectory } from './kt-directory.js';
import { createLogger } from './logger.js';
import type { MessengerOptions, UnsafeTestingDisabledDefences } from './options.js';
import { Outbox } from './outbox.js';
import { ContentReceiver } from './received-content.js';
import { Sending } from './sending.js';
import { SessionAuth } from './session-auth.js';
import { UpdatePathHeal } from './update-path-heal.js';

/** The services of an open profile. */
export interface Services {
  readonly context: MessengerContext;
  readonly auth: SessionAuth;
  readonly registry: ConversationRegistry;
  readonly contacts: Contacts;
  readonly conversations: Conversations;
  readonly commits: CommitRunner;
  readonly heal: UpdatePathHeal;
  readonly sending: Sending;
  readonly outbox: Outbox;
  readonly attachments: Attachments;
  readonly inbound: Inbound;
  readonly expiry: ExpirySweep;
}

/** What the facade lends the services: its HTTP client, clock, emitter and connection. */
export type FacadeParts = Pick<MessengerContext, 'http' | 'clock' | 'emit' | 'connection' | 'online'>;

/**
 * Creates the account on the server with a new device and stores its identity in the
 * profile; returns the signed device list (to pin). The caller checked the profile is empty.
 * @throws ClientError `offline`; ApiError from registration.
 */
export async function createProfile(
  options: MessengerOptions,
  http: HttpApi,
  username: string,
  inviteCode: string,
): Promise<Uint8Array> {
  const { account, device, deviceList } = await createAccount(username);
  await http.call(routes.register, { body: { signedDeviceList: deviceList.signed, inviteCode } });
  await options.store.putIdentity({
    serverUrl: options.serverUrl,
    username: account.username,
    identityPublicKey: account.identityKey.publicKey,
    identitySecretKey: account.identityKey.secretKey,
    deviceId: device.deviceId,
    devicePublicKey: device.signatureKey.publicKey,
    deviceSecretKey: device.signatureKey.secretKey,
    signedDeviceList: deviceList.signed,
  });
  return deviceList.signed;
}

/**
 * The services of the account this profile holds.
 * @throws ClientError `not-registered` (no account in this profile); ProtocolError
 *   `nonconforming-mls`.
 */
export async function openProfile(options: MessengerOptions, parts: FacadeParts): Promise<Services> {
  const identity = await options.store.getIdentity();
  if (!identity) throw new ClientError('not-registered', 'no account in this profile');
  const disabled: UnsafeTestingDisabledDefences = options.unsafeTestingDisableDefences ?? {};
  const { http, clock, emit } = parts;
  const auth = new SessionAuth(http, identity, clock);
  const directory = new KtDirectory(
    http,
    options.store,
    () => auth.sessionToken(false),
    clock.now,
    (change) => emit('identity-changed', { username: change.username }),
    (alarm) => emit('alarm', alarm),
    { unsafeTestingWithoutKeyTransparency: disabled.keyTransparency === true },
  );
  const protocol = await ProtocolClient.create({
    device: {
      username: identity.username,
      deviceId: identity.deviceId,
      signatureKey: { publicKey: identity.devicePublicKey, secretKey: identity.deviceSecretKey },
    },
    directory: {
      // The authentication service's lookups: a failure that decides nothing about the
      // credential (offline, 503, rate limited) travels as directory-unavailable, so the
      // commit or Welcome that needed it is retried rather than judged.
      lookup: (username) =>
        directory.lookup(username).catch((error: unknown) => {
          if (!disabled.transientLookupRetry && !isVerdict(error)) {
            throw new ProtocolError('directory-unavailable', 'the directory cannot answer now', {
              cause: error,
            });
          }
          throw error;
        }),
    },
    store: options.store,
    clock: clock.now,
    ...(options.limits ? { limits: options.limits } : {}),
    unsafeTestingAcceptAllCredentials: disabled.credentialChecks === true,
    unsafeTestingIgnoreForksAndGaps: disabled.forkAndGapDetection === true,
    unsafeTestingAcceptConflictingWelcomes: disabled.conflictingWelcomeCheck === true,
  });
  const context: MessengerContext = {
    ...parts,
    store: options.store,
    identity,
    protocol,
    directory,
    disabled,
    logger: (scope) => createLogger(scope, options.logSink),
    sessionToken: (refresh) => auth.sessionToken(refresh),
  };
  return wire(context, auth, options);
}

/** Builds the services of an open profile, each given only what it uses. */
function wire(context: MessengerContext, auth: SessionAuth, options: MessengerOptions): Services {
  const registry = new ConversationRegistry(context);
  // Closures below name services built after them; they run only once all are built.
  const commits = new CommitRunner(context, registry, (): Promise<void> => inbound.idle());
  const heal = new UpdatePathHeal(context, registry, commits);
  const outbox = new Outbox(context);
  const sending = new Sending(context, {
    registry,
    heal,
    outbox,
    commits,
    isHeld: (id): boolean => inbound.isHeld(id),
  });
  const send = (id: string, body: Content['body']): Promise<string> => sending.send(id, body);
  const decline = (id: string): Promise<void> => conversations.decline(id);
  const contacts = new Contacts(context, decline);
  const conversations = new Conversations(context, options.cipherSuite, {
    registry,
    commits,
    contacts,
    outbox,
    send,
  });
  const groupReset = new GroupReset(context, registry, {
    create: (kind, usernames, name): Promise<string> => conversations.create(kind, usernames, name),
    send,
  });
  const content = new ContentReceiver(context, registry, send);
  const inbound = new Inbound(context, { registry, commits, content, groupReset, decline });
  const attachments = new Attachments(context.http, (refresh) => context.sessionToken(refresh), send);
  const expiry = new ExpirySweep(context.store, context.clock, context.emit, context.logger('client:expiry'));
  return {
    context,
    auth,
    registry,
    contacts,
    conversations,
    commits,
    heal,
    sending,
    outbox,
    attachments,
    inbound,
    expiry,
  };
}

/**
 * A lookup failure that decides something about the credential: key transparency proved
 * the server wrong (a proof that does not verify, a list its owner never signed, a view
 * older than one already verified), which the directory alarms as it throws. Anything else
 * (the network, a retryable answer, a connection cut mid-body, a refusal, an answer that
 * does not decode) says nothing about the credential and is retried, never judged.
 */
function isVerdict(err: unknown): boolean {
  return ClientError.is(err, 'identity-changed');
}
