import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import type { Json } from "../src/core/json.js";
import { decodeState } from "../src/core/state-codec.js";
import type { Strategy } from "../src/core/strategy.js";
import { check } from "../src/config/validate.js";
import { engineAvailable } from "../src/engine/native.js";
import { registry } from "../src/registry.js";
import { FbnetSpace } from "../src/spaces/fbnet.js";
import { AskTellSession, SESSION_OPTIONS, sessionObjectives, sessionSpace, type SessionSnapshot } from "./strategy-session.js";

// bananas and rl_controller run on the tensor engine; in CI it must be there (ARCHSEARCH_REQUIRE_ENGINE=1).
const engine = engineAvailable() || process.env.ARCHSEARCH_REQUIRE_ENGINE === "1";
const NEEDS_ENGINE = new Set(["bananas", "rl_controller"]);
/** Searchers train a supernet once inside an experiment (artifacts, data): their kill -9 / resume is tested in test/oneshot-*.test.ts. */
const SEARCHERS = new Set(Object.keys(registry.strategies).filter((n) => registry.strategies[n].requires.includes("supernet")));
const skipFor = (name: string) => (NEEDS_ENGINE.has(name) && !engine ? "libtorch binding not built" : false);
const skipSession = (name: string) => (SEARCHERS.has(name) ? "a searcher: its job trains a supernet in an experiment (see test/oneshot-*.test.ts)" : skipFor(name));

function make(name: string, options: Record<string, unknown> = SESSION_OPTIONS[name] ?? {}, seed = 5): Strategy {
  const c = registry.strategies[name];
  const parsed = check(c.options, options);
  assert.ok(parsed.value, JSON.stringify(parsed.problems));
  return c.create(parsed.value, { space: name === "fbnet_dnas" ? new FbnetSpace() : sessionSpace, objectives: sessionObjectives, seed });
}

/** What a store keeps of a state: its JSON text. */
const stored = (s: Strategy): Json => JSON.parse(JSON.stringify(s.state())) as Json;

for (const name of Object.keys(registry.strategies)) {
  test(`${name}: a fresh instance restored from state() and the told history asks what the uninterrupted one asks`, { skip: skipSession(name) }, async () => {
    const whole = await new AskTellSession().run(make(name), 30);
    assert.ok(whole.length >= 30, `${name} asked ${whole.length} points`);
    // Stopped and resumed three times (before and after the model-based phase starts), each time in a new instance.
    let s = make(name);
    const session = new AskTellSession();
    let rounds = 0;
    const parts: Json[] = [];
    for (const until of [3, 9, 20, 30]) {
      parts.push(...(await session.run(s, until - rounds)));
      rounds = until;
      const saved = stored(s);
      const told = session.snapshot().told;
      s = make(name);
      s.restore(saved, { outcomes: told });
      assert.deepEqual(stored(s), saved, `${name}: the restored state writes the same state`);
    }
    assert.deepEqual(parts, whole);
    // And the restored one goes on as the original would.
    const a = make(name);
    const sa = new AskTellSession();
    await sa.run(a, 30);
    assert.deepEqual(await AskTellSession.from(session.snapshot()).run(s, 5), await sa.run(a, 5));
  });

  test(`${name}: a state that does not fit is an error naming the strategy`, { skip: skipFor(name) }, () => {
    const s = make(name);
    assert.throws(
      () => s.restore({ rng: "not a generator" }, { outcomes: [] }),
      (e: Error) => e.message.includes(name) && /state/.test(e.message),
    );
  });
}

const fixtures = new URL("../../test/fixtures/legacy-states/", import.meta.url);
for (const file of readdirSync(fixtures).filter((f) => f.endsWith(".json")).sort()) {
  const fx = JSON.parse(readFileSync(new URL(file, fixtures), "utf8")) as {
    strategy: string;
    options: Record<string, unknown>;
    seed: number;
    state: Json;
    session: Json;
    nextRounds: number;
    next: Json[];
  };
  test(`${fx.strategy}: a state written before the state codec (-Infinity as null) restores and continues as that release did`, { skip: skipFor(fx.strategy) }, async () => {
    const session = AskTellSession.from(decodeState(fx.session) as SessionSnapshot);
    const s = make(fx.strategy, fx.options, fx.seed);
    s.restore(fx.state, { outcomes: session.snapshot().told });
    assert.deepEqual(await session.run(s, fx.nextRounds), fx.next);
  });
}

for (const file of readdirSync(fixtures).filter((f) => f.endsWith(".json")).sort()) {
  const fx = JSON.parse(readFileSync(new URL(file, fixtures), "utf8")) as {
    strategy: string;
    options: Record<string, unknown>;
    seed: number;
    state: Json;
    session: Json;
    nextRounds: number;
    next: Json[];
  };
  test(`${fx.strategy}: a state of the previous release, saved again in the current form and restored from it and the history, continues as that release did`, { skip: skipFor(fx.strategy) }, async () => {
    const session = AskTellSession.from(decodeState(fx.session) as SessionSnapshot);
    let s = make(fx.strategy, fx.options, fx.seed);
    s.restore(fx.state, { outcomes: session.snapshot().told });
    const half = Math.floor(fx.nextRounds / 2);
    const asked = await session.run(s, half);
    // A new instance from what a store now keeps: the current state (results left out where the
    // strategy rebuilds) and the history of every result told, the previous release's included.
    const saved = stored(s);
    s = make(fx.strategy, fx.options, fx.seed);
    s.restore(saved, { outcomes: session.snapshot().told });
    assert.deepEqual(stored(s), saved, "the restored state writes the same state");
    asked.push(...(await session.run(s, fx.nextRounds - half)));
    assert.deepEqual(asked, fx.next);
  });
}
