import { getCurrentScope, onScopeDispose, readonly, ref } from 'vue';
import type { Ref } from 'vue';

/**
 * One shared clock for the whole app: a single `setInterval` while at least one user is mounted.
 * Every elapsed time and countdown reads this ref, so they tick together and cost one timer.
 */
const now = ref(Date.now());
let users = 0;
let timer: ReturnType<typeof setInterval> | null = null;
export const TICK_MS = 1000;

function start() {
  now.value = Date.now();
  timer = setInterval(() => {
    now.value = Date.now();
  }, TICK_MS);
}

function stop() {
  if (timer) clearInterval(timer);
  timer = null;
}

export function useNow(): Readonly<Ref<number>> {
  if (getCurrentScope()) {
    users += 1;
    if (users === 1) start();
    onScopeDispose(() => {
      users -= 1;
      if (users === 0) stop();
    });
  }
  return readonly(now);
}

/** For tests: whether the shared timer runs and how many scopes use it. */
export function nowClockStats(): { running: boolean; users: number } {
  return { running: timer !== null, users };
}
