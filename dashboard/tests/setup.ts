/** As main.ts wires the app: the API client reads the operator's credentials from the (active Pinia's) auth store. */
import { setCredentials } from '@/api/client';
import { useAuthStore } from '@/stores/auth';

setCredentials(() => useAuthStore());
