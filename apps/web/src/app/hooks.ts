// Hooks that tie components to the Model's topics: re-read when a topic changes, discard
// answers that arrive after a newer read started.
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Model, Topic } from './model.js';

/** A number that changes whenever any of `topics` is bumped. */
export function useTopics(model: Model, topics: readonly Topic[]): number {
  const key = topics.join('|');
  const subscribe = useCallback(
    (listener: () => void) => {
      const offs = key.split('|').map((t) => model.subscribe(t as Topic, listener));
      return () => offs.forEach((off) => off());
    },
    [model, key],
  );
  const snapshot = useCallback(
    () => key.split('|').reduce((sum, t) => sum + model.version(t as Topic), 0),
    [model, key],
  );
  return useSyncExternalStore(subscribe, snapshot);
}

/** The latest value of `load`, re-run whenever `deps` change; undefined until the first answer. */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): T | undefined {
  const [value, setValue] = useState<T | undefined>(undefined);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    load().then(
      (v) => {
        if (run === latest.current) setValue(v);
      },
      () => {
        // A failed read keeps the last value; the next change reads again.
      },
    );
  }, deps);
  return value;
}
