// Bounds on everything a peer or the server can make a member store or compute.
import type { ClientConfig } from 'ts-mls';
import { defaultKeyPackageEqualityConfig, defaultLifetimeConfig } from 'ts-mls';

export interface ProtocolLimits {
  /** Largest padded plaintext of an application message (DESIGN.md: 256 KiB). */
  readonly maxApplicationPlaintext: number;
  /** Largest handshake message or Welcome accepted (DESIGN.md: 16 MiB). */
  readonly maxHandshakeBytes: number;
  /** Skipped message keys kept per sender for out-of-order delivery. */
  readonly outOfOrderWindow: number;
  /** How far ahead in a sender's chain a message may be. */
  readonly maxForwardSteps: number;
  /** Past epochs whose keys are kept for late messages. */
  readonly retainEpochs: number;
  /** Message ids remembered per conversation to drop redelivered copies. */
  readonly rememberedMessageIds: number;
  /** Past commits remembered per conversation to detect a fork. */
  readonly rememberedCommits: number;
}

export const defaultLimits: ProtocolLimits = {
  maxApplicationPlaintext: 256 * 1024,
  maxHandshakeBytes: 16 * 1024 * 1024,
  outOfOrderWindow: 64,
  maxForwardSteps: 1000,
  retainEpochs: 4,
  rememberedMessageIds: 4096,
  rememberedCommits: 256,
};

/** ts-mls does not store its config in the state: this is built and passed on every call. */
export function clientConfigFor(limits: ProtocolLimits): ClientConfig {
  return {
    keyRetentionConfig: {
      retainKeysForGenerations: limits.outOfOrderWindow,
      retainKeysForEpochs: limits.retainEpochs,
      maximumForwardRatchetSteps: limits.maxForwardSteps,
    },
    lifetimeConfig: { ...defaultLifetimeConfig, validateLifetimeOnReceive: true },
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    // Content is padded to size buckets before encryption (content.ts); no second padding.
    paddingConfig: { kind: 'padUntilLength', padUntilLength: 0 },
  };
}
