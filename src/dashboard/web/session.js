// Theater dashboard: the one connection to the server every page shares, and who hears its
// pushes and its state.
import {Api} from './api.js';

export const pushHandlers = new Set();   // (name, fields) for every push
export const stateHandlers = new Set();  // (state, detail) when the connection changes

export const api = new Api(
    (state, detail) => {
      for (const handler of stateHandlers) handler(state, detail);
    },
    (name, fields) => {
      for (const handler of pushHandlers) handler(name, fields);
    });
