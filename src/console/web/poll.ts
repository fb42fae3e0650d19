/**
 * Live updates by short polling: a view asks again every few seconds while it is shown. Polling (rather
 * than server-sent events) needs nothing on the server beyond the API, and sends the admin secret as a
 * header on every request, which an EventSource cannot. Nothing is asked while the tab is hidden, and a
 * refresh never overlaps the previous one.
 */

export interface Poller {
  /** Runs the refresh now (and then every interval from then on). */
  now(): void;
  /** Changes the interval, e.g. faster while a redelivery is under way. */
  setInterval(ms: number): void;
  stop(): void;
}

export function poll(intervalMs: number, refresh: () => Promise<void>): Poller {
  let interval = intervalMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  let stopped = false;

  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, interval);
  };
  const tick = async () => {
    if (stopped) return;
    if (document.hidden) return schedule();
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await refresh();
    } catch {
      // The view shows what it can; the header shows a lost connection (api.ts). Keep asking.
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      void tick();
    } else {
      schedule();
    }
  };
  const onVisible = () => {
    if (!document.hidden) void tick();
  };
  document.addEventListener('visibilitychange', onVisible);
  schedule();

  return {
    now: () => void tick(),
    setInterval(ms) {
      interval = ms;
      schedule();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
