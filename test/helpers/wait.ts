/** Polls `cond` until it holds (no timing assertions: the timeout only bounds a broken run). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls `get` until it gives a value, not null (a rejection counts as none; the timeout only bounds a broken run). */
export async function until<T>(get: () => Promise<T | null>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Waits until the clock is at least `afterS` into a quarter hour and `beforeS` before its end. A
 * test that starts an edge relies on where in the quarter it starts: a first meter reading within
 * control.stale_after_s (10 s) after a boundary is taken as the quarter's start (the quarter is
 * known), later ones are not; a banner for "this quarter" goes when it ends. Waits at most
 * `afterS + beforeS` seconds, in that share of runs.
 */
export async function midQuarter(afterS: number, beforeS: number): Promise<void> {
  const quarterMs = 900_000;
  const into = Date.now() % quarterMs;
  let waitMs = 0;
  if (into < afterS * 1000) waitMs = afterS * 1000 - into;
  else if (into > quarterMs - beforeS * 1000) waitMs = quarterMs - into + afterS * 1000;
  if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
}
