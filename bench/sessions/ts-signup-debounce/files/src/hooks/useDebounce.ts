import { useEffect, useRef, useState } from "react";

/**
 * Returns `value` once it has stopped changing for `delayMs`.
 */
export function useDebounce<T>(value: T, delayMs = 300): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(id);
  }, [value, delayMs]);
  return debounced;
}

/**
 * Calls `fn` once the arguments have stopped changing for `delayMs`.
 */
export function useDebouncedCallback<A extends unknown[]>(fn: (...args: A) => void, delayMs = 300) {
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  return (...args: A) => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => fn(...args), delayMs);
  };
}
