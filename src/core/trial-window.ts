import { TERMINAL_STATUSES, type Store, type TrialRecord } from "./store.js";
import { runKey } from "./search-state.js";

/**
 * An experiment's trials as a worker's driver steps see them, read incrementally. Trials that
 * ended for good (finished, failed, pruned) and were told never change again, so once every trial below a
 * number has, those are kept from earlier reads and each read fetches only that number and up:
 * a driver step costs what is running, paused or recently ended, not the whole history (Optuna
 * reads every trial at each ask).
 */
export class TrialWindow {
  /** Every trial numbered below this one has ended for good and is in `kept`. */
  private from = 0;
  private readonly kept: TrialRecord[] = [];

  constructor(
    private readonly store: Store,
    private readonly experimentId: number,
  ) {}

  /** All of the experiment's trials, in number order, as they are now. */
  async read(): Promise<TrialRecord[]> {
    const fresh = await this.store.getTrials(this.experimentId, { from: this.from });
    let i = 0;
    // Kept once it ended for good and the strategy was told (a driver step may tell it after this read).
    while (i < fresh.length && fresh[i].number === this.from && TERMINAL_STATUSES.includes(fresh[i].status) && fresh[i].toldSeq != null && (fresh[i].heard == null || fresh[i].heard === runKey(fresh[i]))) {
      this.kept.push(fresh[i++]);
      this.from++;
    }
    return [...this.kept, ...fresh.slice(i)];
  }
}
