import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { ExperimentArtifacts } from "./searcher.js";
import type { ArtifactRecord, Store } from "./store.js";
import { UserError } from "./errors.js";

/** A file-system-safe form of an experiment name (also used for checkpoint folders). */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Artifact names are relative paths of plain segments: no absolute path, no `..`, nothing odd. */
function checkName(name: string): void {
  const parts = name.split("/");
  if (name.length === 0 || name.length > 200 || parts.some((p) => p === "" || p === "." || p === ".." || !/^[A-Za-z0-9._-]+$/.test(p))) {
    throw new UserError(`artifact name "${name}" is not a relative path of letters, digits, '.', '_' and '-' segments`);
  }
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/**
 * An experiment's artifacts: files under `<root>/<experiment>/` (experiment-level ones in
 * `experiment/`, a trial's in `trial-<n>/`), each recorded in the store with its size and
 * SHA-256, so that a resumed experiment (or the dashboard, or another machine sharing the
 * folder) finds them again and a damaged file is an error naming it, never silently wrong data.
 * A file is written to a temporary name and renamed, so a crash never leaves half a file under
 * a recorded name; writing a name again replaces it.
 */
export class FileArtifacts implements ExperimentArtifacts {
  readonly root: string;

  constructor(
    private readonly store: Store,
    root: string,
    private readonly experimentId: number,
    experimentName: string,
  ) {
    this.root = join(resolve(root), safeName(experimentName));
  }

  private relPath(trial: number | null, name: string): string {
    checkName(name);
    return join(trial === null ? "experiment" : `trial-${trial}`, ...name.split("/"));
  }

  async put(trial: number | null, name: string, data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const rel = this.relPath(trial, name);
    const file = join(this.root, rel);
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
    await this.store.recordArtifact(this.experimentId, { trial, name, path: rel.split(sep).join("/"), bytes: bytes.length, sha256: sha256(bytes), createdAt: Date.now() });
  }

  async get(trial: number | null, name: string): Promise<Uint8Array | undefined> {
    const rec = await this.store.getArtifact(this.experimentId, trial, name);
    if (!rec) return undefined;
    const file = this.fileOf(rec);
    let bytes: Uint8Array;
    try {
      const buf = readFileSync(file);
      bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length); // a plain Uint8Array, not a Buffer
    } catch (e) {
      throw new UserError(`artifact "${name}"${trial === null ? "" : ` of trial ${trial}`} is recorded in the store but its file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is the artifact folder the one it was written to?`);
    }
    if (bytes.length !== rec.bytes || sha256(bytes) !== rec.sha256) {
      throw new UserError(`artifact "${name}"${trial === null ? "" : ` of trial ${trial}`} is damaged: ${file} does not match the checksum recorded when it was written`);
    }
    return bytes;
  }

  /** The recorded artifacts of the experiment (`trial` undefined), of its experiment level (null), or of one trial. */
  list(trial?: number | null): Promise<ArtifactRecord[]> {
    return this.store.listArtifacts(this.experimentId, trial);
  }

  /** Where a recorded artifact's file is. */
  fileOf(rec: ArtifactRecord): string {
    const file = resolve(this.root, rec.path);
    if (relative(this.root, file).startsWith("..")) throw new UserError(`artifact "${rec.name}" has a path outside its folder: ${rec.path}`);
    return file;
  }
}

/**
 * The artifact folder of a storage string when the config names none: beside a SQLite file
 * (`archsearch.db.artifacts/`); for PostgreSQL `archsearch-artifacts/` in the working directory
 * (workers on several machines need a shared folder, set in the config); for an in-memory store
 * a folder of this process under the system's temporary folder.
 */
export function defaultArtifactDir(storage: string): string {
  const file = storage.startsWith("sqlite:") ? storage.slice("sqlite:".length) : storage;
  if (file === ":memory:" || file === "") return join(tmpdir(), `archsearch-artifacts-${process.pid}`);
  if (/^postgres(ql)?:\/\//.test(storage)) return resolve("archsearch-artifacts");
  return `${resolve(file)}.artifacts`;
}

/** The artifacts of an experiment of the store, by name (it must exist). */
export async function experimentArtifacts(store: Store, root: string, experimentName: string): Promise<FileArtifacts> {
  const exp = await store.getExperiment(experimentName);
  if (!exp) throw new UserError(`no experiment "${experimentName}" in the store`);
  return new FileArtifacts(store, root, exp.id, experimentName);
}
