// What a message ts-mls refused means to the member: the one error a caller sees, with its
// stable code. Nothing here echoes input. ts-mls passes our own errors through unwrapped (a
// directory that cannot answer now stays `directory-unavailable`, never a verdict on the
// commit); its own errors are told apart by their types, and a refused application message by
// what its sender data says, never by message text.
import type {
  ClientState,
  CiphersuiteImpl,
  PrivateMessage,
  ProcessMessageResult,
  ValidationError,
} from 'ts-mls';
import { ProtocolError } from './errors.js';
import type { ProtocolLimits } from './limits.js';
import { readSenderData } from './sender-data.js';

/** A refused handshake is an `invalid-commit`; anything else refused failed authentication. */
export function classifyMlsFailure(err: unknown, handshake: boolean): ProtocolError {
  if (err instanceof ProtocolError) return err;
  if (handshake) return new ProtocolError('invalid-commit', 'commit cannot be processed', { cause: err });
  return new ProtocolError('tampered', 'message failed authentication', { cause: err });
}

/**
 * An application message ts-mls refused with a ValidationError: a replay (its generation's
 * key is already used, or older than the out-of-order window or the epochs kept), a message
 * too far ahead in its sender's chain, or anything else (tampered), read from its sender
 * data against the ratchet this member holds for that sender.
 */
export async function classifyApplicationFailure(
  cipherSuite: CiphersuiteImpl,
  limits: ProtocolLimits,
  state: ClientState,
  message: PrivateMessage,
  cause: ValidationError,
): Promise<ProtocolError> {
  const current = message.epoch === state.groupContext.epoch;
  const epochData = current ? undefined : state.historicalReceiverData.get(message.epoch);
  if (!current && !epochData) {
    return new ProtocolError('replay', 'message from an epoch whose keys are gone', { cause });
  }
  const secret = current ? state.keySchedule.senderDataSecret : epochData!.senderDataSecret;
  const senderData = await readSenderData(cipherSuite, secret, message);
  if (!senderData) return new ProtocolError('tampered', 'message failed authentication', { cause });
  const tree = current ? state.secretTree : epochData!.secretTree;
  const ratchet = tree.leafNodes[senderData.leafIndex * 2]?.application;
  const next = ratchet?.generation ?? 0;
  if (senderData.generation < next && ratchet?.unusedGenerations[senderData.generation] === undefined) {
    return new ProtocolError('replay', 'message key already used or older than the out-of-order window', {
      cause,
    });
  }
  if (senderData.generation - next > limits.maxForwardSteps) {
    return new ProtocolError('too-far-ahead', 'message beyond the forward limit', { cause });
  }
  return new ProtocolError('tampered', 'message failed authentication', { cause });
}

/**
 * `result` as the kind its message's header announced. ts-mls reads a PrivateMessage's content
 * by the header's content type, so another kind cannot occur; it would be refused as tampered.
 */
export function resultOfKind<K extends ProcessMessageResult['kind']>(
  result: ProcessMessageResult,
  kind: K,
): Extract<ProcessMessageResult, { kind: K }> {
  if (result.kind !== kind) throw new ProtocolError('tampered', 'message failed authentication');
  return result as Extract<ProcessMessageResult, { kind: K }>;
}
