/**
 * systemd integration without a native module: READY=1 and WATCHDOG=1 through `systemd-notify`
 * (the unit sets NotifyAccess=all). Does nothing outside systemd (no NOTIFY_SOCKET).
 */
import { execFile } from 'node:child_process';

export function sdNotify(state: string): void {
  if (!process.env.NOTIFY_SOCKET) return;
  execFile('systemd-notify', [`--pid=${process.pid}`, state], { timeout: 5000 }, () => {});
}

/**
 * Pings the watchdog at half the configured interval while `healthy()` says so; a hung or unhealthy
 * process stops pinging and systemd restarts it. Returns a function that stops the pings.
 */
export function startWatchdog(healthy: () => boolean): () => void {
  const usec = Number(process.env.WATCHDOG_USEC);
  if (!process.env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0) return () => {};
  const timer = setInterval(
    () => {
      if (healthy()) sdNotify('WATCHDOG=1');
    },
    Math.max(1000, usec / 2000),
  );
  timer.unref();
  return () => clearInterval(timer);
}
