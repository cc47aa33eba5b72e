// Preloaded with `node --import` (through NODE_OPTIONS) to record the modules a process loads;
// see module-log-hooks.mjs.
import { register } from 'node:module';

register('./module-log-hooks.mjs', import.meta.url);
