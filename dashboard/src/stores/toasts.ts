import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import { asGetter } from './asGetter';

export type ToastKind = 'info' | 'success' | 'warning' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
  /** Optional in-app link, e.g. to the run the message is about. */
  link?: { to: string; label: string };
  /** Stays until dismissed when 0. */
  timeoutMs: number;
}

export type ToastInput = Omit<Toast, 'id' | 'timeoutMs'> & { timeoutMs?: number };

const DEFAULT_TIMEOUT: Record<ToastKind, number> = { info: 6000, success: 6000, warning: 12000, error: 0 };

export const useToastsStore = defineStore('toasts', () => {
  const items = ref<Toast[]>([]);
  let nextId = 1;
  const timers = new Map<number, ReturnType<typeof setTimeout>>();

  function dismiss(id: number) {
    items.value = items.value.filter((t) => t.id !== id);
    const timer = timers.get(id);
    if (timer) clearTimeout(timer);
    timers.delete(id);
  }

  function push(input: ToastInput): number {
    const toast: Toast = { ...input, id: nextId++, timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT[input.kind] };
    // The same sentence twice in a row is one toast.
    const same = items.value.find((t) => t.message === toast.message && t.kind === toast.kind);
    if (same) dismiss(same.id);
    items.value = [...items.value.slice(-4), toast];
    if (toast.timeoutMs > 0) timers.set(toast.id, setTimeout(() => dismiss(toast.id), toast.timeoutMs));
    return toast.id;
  }

  function clear() {
    for (const id of [...timers.keys()]) dismiss(id);
    items.value = [];
  }

  return { items: asGetter(items), push, dismiss, clear };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useToastsStore, import.meta.hot));
