import type { Component } from "../core/component.js";
import type { Capability } from "../core/space.js";
import type { Strategy, StrategyContext } from "../core/strategy.js";

/** A strategy as the registry sees it: its options schema and the space capabilities it needs. */
export interface StrategyComponent<O> extends Component<O, StrategyContext, Strategy> {
  readonly requires: readonly Capability[];
}
