// ES module entry: `import auth from '...'` gives the original's default export shape.
export { default, authenticator, stop, apiVersion, getGlobalOptions, setGlobalOptions } from './api.js';
