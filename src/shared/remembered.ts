/**
 * `compute`, remembering each key's result: for derived values asked for over and over (a scrape reads the
 * same team and market names thousands of times). Emptied when it holds `max` keys, so keys a platform
 * invents without end cannot grow it. One per process; the same on every replica.
 */
export function remembered<T>(compute: (key: string) => T, max: number): (key: string) => T {
  const known = new Map<string, T>();
  return (key) => {
    let value = known.get(key);
    if (value === undefined) {
      if (known.size >= max) known.clear();
      value = compute(key);
      known.set(key, value);
    }
    return value;
  };
}
