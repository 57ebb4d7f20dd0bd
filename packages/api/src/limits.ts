// The default limits of a Ghostproof server. A server may be configured otherwise and says
// what it enforces in GET /v1/info; clients read that rather than these constants.
export const KiB = 1024;
export const MiB = 1024 * KiB;

export interface Limits {
  /** An MLS application message (PrivateMessage, content type application). */
  readonly applicationMessageBytes: number;
  /** A proposal or commit (PrivateMessage). */
  readonly handshakeMessageBytes: number;
  /** A Welcome. */
  readonly welcomeBytes: number;
  /** A whole WebSocket frame: the largest commit plus its Welcome plus the frame itself. */
  readonly frameBytes: number;
  /** An encrypted attachment. */
  readonly attachmentBytes: number;
  /** One KeyPackage (MLSMessage). */
  readonly keyPackageBytes: number;
  readonly keyPackagesPerUpload: number;
  /** One-time key packages a device may keep on the server. */
  readonly oneTimeKeyPackagesPerDevice: number;
  /** Message ids in one Ack. */
  readonly ackBatch: number;
  /** Mailboxes one commit may remove from a routing list. */
  readonly removalsPerCommit: number;
  /** Largest group id. */
  readonly groupIdBytes: number;
  /** Members of one routing list. */
  readonly routingListMembers: number;
}

/** Room in a frame for everything besides the commit and the Welcome. */
export const FRAME_OVERHEAD_BYTES = 64 * KiB;

export const defaultLimits: Limits = {
  applicationMessageBytes: 256 * KiB,
  handshakeMessageBytes: 16 * MiB,
  welcomeBytes: 16 * MiB,
  frameBytes: 32 * MiB + FRAME_OVERHEAD_BYTES,
  attachmentBytes: 100 * MiB,
  keyPackageBytes: 16 * KiB,
  keyPackagesPerUpload: 100,
  oneTimeKeyPackagesPerDevice: 200,
  ackBatch: 1000,
  removalsPerCommit: 1000,
  groupIdBytes: 255,
  routingListMembers: 10_000,
};

export const CLIENT_ID_LENGTH = 16;
export const MESSAGE_ID_LENGTH = 16;
export const SESSION_TOKEN_LENGTH = 32;
export const ATTACHMENT_ID_LENGTH = 16;
export const ATTACHMENT_TOKEN_LENGTH = 32;
