import { createApp } from 'vue';
import auth from 'kloudless-authenticator';
import App from './App.vue';

// The API server: `make demo` runs one on 127.0.0.1:8080 (set VITE_KLOUDLESS_BASE_URL for another).
auth.setGlobalOptions({ baseUrl: import.meta.env.VITE_KLOUDLESS_BASE_URL || 'http://127.0.0.1:8080' });

createApp(App).mount('#app');
