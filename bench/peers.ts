/**
 * The benchmarks' peers: the Python libraries some benches compare with, run by Debian's
 * /usr/bin/python3. A bench that has a peer calls `requirePeer` before it measures anything: the
 * peer is then either importable (the bench runs it) or left out because the user said so with
 * `--no-optuna` / `--no-pytorch` (the bench prints that in its table). A peer that cannot be
 * imported is an error that names the Debian package to install, never a silently missing row.
 *
 * ARCHSEARCH_PYTHON overrides the interpreter (default /usr/bin/python3), for a Python of one's
 * own or to check the error path: ARCHSEARCH_PYTHON=/nonexistent npm run bench -- search --strategies all
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type PeerName = "optuna" | "pytorch";

interface PeerInfo {
  /** What the tables call it. */
  label: string;
  /** The Python module the probe imports. */
  module: string;
  /** The Debian package that provides it for /usr/bin/python3. */
  debian: string;
  /** The flag that leaves it out. */
  flag: `no-${PeerName}`;
}

export const PEERS: Record<PeerName, PeerInfo> = {
  optuna: { label: "Optuna", module: "optuna", debian: "python3-optuna", flag: "no-optuna" },
  pytorch: { label: "PyTorch", module: "torch", debian: "python3-torch", flag: "no-pytorch" },
};

/** The interpreter that runs the peers: $ARCHSEARCH_PYTHON, else Debian's /usr/bin/python3. */
export function peerPython(): string {
  return process.env.ARCHSEARCH_PYTHON || "/usr/bin/python3";
}

/** The peer scripts live in the source tree (bench/peers), next to this file's source. */
export function peerScript(name: string): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  // Compiled to dist/bench/: the sources are two levels up.
  return join(here, "..", "..", "bench", "peers", name);
}

/** A peer that cannot be imported: bench/run.ts prints the message alone (no stack) and exits 1. */
export class PeerMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerMissingError";
  }
}

/** The peer's use in this run: its version when it runs, or the note the table shows when it is left out. */
export type PeerUse = { use: true; version: string } | { use: false; note: string };

/** One probe per peer and process. */
const probes = new Map<PeerName, { version: string } | { error: string }>();

function probe(peer: PeerName): { version: string } | { error: string } {
  let r = probes.get(peer);
  if (!r) {
    const { module } = PEERS[peer];
    const p = spawnSync(peerPython(), ["-c", `import ${module}; print(${module}.__version__)`], { encoding: "utf8", timeout: 120_000 });
    if (p.status === 0) r = { version: p.stdout.trim() };
    else {
      const lines = (p.stderr ?? "").trim().split("\n").filter(Boolean);
      r = { error: p.error ? p.error.message : lines[lines.length - 1] ?? `exit status ${p.status}` };
    }
    probes.set(peer, r);
  }
  return r;
}

/**
 * Checks a bench's peer before the bench runs: `{ use: true, version }` when it imports,
 * `{ use: false, note }` when `flags["no-optuna"]` / `flags["no-pytorch"]` leaves it out, and a
 * PeerMissingError (naming the Debian package and the flag) when it cannot be imported.
 */
export function requirePeer(peer: PeerName, flags: Record<string, unknown>, bench: string): PeerUse {
  const info = PEERS[peer];
  if (flags[info.flag]) return { use: false, note: `left out (--${info.flag})` };
  const r = probe(peer);
  if ("version" in r) return { use: true, version: r.version };
  throw new PeerMissingError(
    `bench ${bench} compares with ${info.label}, but ${peerPython()} cannot import ${info.module} (${r.error}).\n` +
      `Install Debian's ${info.debian}:  apt-get install ${info.debian}   (as root, or with sudo)\n` +
      `or pass --${info.flag} to run the bench without the ${info.label} rows.`,
  );
}
