import type { Json } from "../src/core/json.js";
import type { StateWrite } from "../src/core/store.js";

/** A search state as a store write takes it: the state, and no trials told or heard with it. */
export function st(state: Json): StateWrite {
  return { state, told: [], heard: [] };
}
