import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { setCredentials } from './api/client';
import App from './App.vue';
import { createAppRouter } from './router';
import { useAuthStore } from './stores/auth';
import './styles.css';

const pinia = createPinia();
setCredentials(() => useAuthStore(pinia));
createApp(App).use(pinia).use(createAppRouter()).mount('#app');
