import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { TokenPromptReason } from '@/api/client';
import { asGetter } from './asGetter';

export const TOKEN_STORAGE_KEY = 'oddswatch.operatorToken';

function readStoredToken(): string | null {
  try {
    return globalThis.sessionStorage?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null; // storage disabled: the token then lives for this page only
  }
}

/**
 * The operator token (kept in sessionStorage: gone when the tab closes, never in a URL) and the small prompt that asks for it.
 * `askForToken` opens the prompt and resolves when the operator saves (true) or cancels (false);
 * concurrent callers share one prompt.
 */
export const useAuthStore = defineStore('auth', () => {
  const token = ref<string | null>(readStoredToken());
  /** From GET /api/meta: mutating routes need the token. */
  const authRequired = ref(false);
  const promptOpen = ref(false);
  const promptReason = ref<TokenPromptReason>('required');

  let waiters: ((ok: boolean) => void)[] = [];

  function setAuthRequired(required: boolean) {
    authRequired.value = required;
  }

  function saveToken(value: string) {
    const trimmed = value.trim();
    token.value = trimmed || null;
    try {
      if (trimmed) globalThis.sessionStorage?.setItem(TOKEN_STORAGE_KEY, trimmed);
      else globalThis.sessionStorage?.removeItem(TOKEN_STORAGE_KEY);
    } catch {
      /* storage disabled */
    }
  }

  function forgetToken() {
    saveToken('');
  }

  function askForToken(reason: TokenPromptReason): Promise<boolean> {
    promptReason.value = reason;
    promptOpen.value = true;
    return new Promise((resolve) => waiters.push(resolve));
  }

  function settle(ok: boolean) {
    promptOpen.value = false;
    const pending = waiters;
    waiters = [];
    for (const resolve of pending) resolve(ok);
  }

  function submitToken(value: string) {
    if (!value.trim()) return;
    saveToken(value);
    settle(true);
  }

  function cancelPrompt() {
    settle(false);
  }

  return {
    token: asGetter(token),
    authRequired: asGetter(authRequired),
    promptOpen: asGetter(promptOpen),
    promptReason: asGetter(promptReason),
    setAuthRequired,
    saveToken,
    forgetToken,
    askForToken,
    submitToken,
    cancelPrompt,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useAuthStore, import.meta.hot));
