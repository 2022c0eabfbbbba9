import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import auth from 'kloudless-authenticator';
import App from './App.jsx';

// The API server: `make demo` runs one on 127.0.0.1:8080 (set VITE_KLOUDLESS_BASE_URL for another).
auth.setGlobalOptions({ baseUrl: import.meta.env.VITE_KLOUDLESS_BASE_URL || 'http://127.0.0.1:8080' });

createRoot(document.getElementById('root')).render(<StrictMode><App /></StrictMode>);
