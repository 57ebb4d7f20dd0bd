// Typing indicators both ways: who else is typing in a conversation, and telling the others
// while we type (repeated while typing goes on, stopped after a pause or when we leave).
import { useEffect, useRef } from 'react';
import { useTopics } from './hooks.js';
import type { Model } from './model.js';

const TYPING_REPEAT_MS = 4000;
const TYPING_IDLE_MS = 5000;

export function TypingIndicator(props: { model: Model; id: string; nameOf: (u: string) => string }) {
  useTopics(props.model, [`typing:${props.id}`]);
  const typing = props.model.typing(props.id);
  return (
    <p className="typing" aria-live="polite">
      {typing.length === 0
        ? ''
        : `${typing.map(props.nameOf).join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`}
    </p>
  );
}

/**
 * Our own typing signal for conversation `id`: `typed` with the composer's new text sends
 * "typing" (at most every few seconds) or, for an empty text, stops it; `stop` ends it.
 */
export function useTypingSignal(model: Model, id: string) {
  const m = model.messenger;
  const typingSent = useRef(0);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const stop = () => {
    if (idleTimer.current) clearTimeout(idleTimer.current);
    if (typingSent.current > 0) {
      typingSent.current = 0;
      m.typing(id, false).catch(() => undefined);
    }
  };
  // Stops "typing" when the conversation is left.
  useEffect(() => stop, []);

  const typed = (value: string) => {
    if (value.length === 0) {
      stop();
      return;
    }
    const now = Date.now();
    if (now - typingSent.current > TYPING_REPEAT_MS) {
      typingSent.current = now;
      m.typing(id, true).catch(() => undefined);
    }
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = setTimeout(stop, TYPING_IDLE_MS);
  };
  return { typed, stop };
}
