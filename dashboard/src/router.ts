import { createRouter, createWebHistory } from 'vue-router';
import type { RouteRecordRaw } from 'vue-router';
import DashboardView from '@/views/DashboardView.vue';
import NotFoundView from '@/views/NotFoundView.vue';
import OddsView from '@/views/OddsView.vue';
import PlatformView from '@/views/PlatformView.vue';
import PlatformsView from '@/views/PlatformsView.vue';
import RunDetailView from '@/views/RunDetailView.vue';
import RunsView from '@/views/RunsView.vue';

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'dashboard', component: DashboardView, meta: { title: 'Dashboard' } },
  { path: '/runs', name: 'runs', component: RunsView, meta: { title: 'Runs' } },
  { path: '/runs/:id(\\d+)', name: 'run', component: RunDetailView, meta: { title: 'Run' } },
  { path: '/odds', name: 'odds', component: OddsView, meta: { title: 'Odds' } },
  // Opened from a run page only: loaded on first visit, so the dashboard's first load does not carry it.
  { path: '/traces/:traceId', name: 'trace', component: () => import('@/views/TraceView.vue'), meta: { title: 'Trace' } },
  { path: '/platforms', name: 'platforms', component: PlatformsView, meta: { title: 'Platforms' } },
  { path: '/platforms/:name', name: 'platform', component: PlatformView, meta: { title: 'Bookmaker' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: NotFoundView, meta: { title: 'Not found' } },
];

/** History mode: the service answers unknown non-API paths with index.html (SPA fallback). */
export function createAppRouter() {
  const router = createRouter({ history: createWebHistory('/'), routes });
  router.afterEach((to) => {
    const title =
      to.name === 'run' ? `Run #${String(to.params.id)}` : to.name === 'platform' ? `Bookmaker ${String(to.params.name)}` : String(to.meta.title ?? '');
    document.title = title ? `${title} · oddswatch` : 'oddswatch';
  });
  return router;
}
