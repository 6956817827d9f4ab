import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { ExperimentArtifacts } from "./searcher.js";
import type { ArtifactRecord, Store } from "./store.js";
import { UserError } from "./errors.js";

/** A file-system-safe form of an experiment name (also used for checkpoint folders); never `.` or `..`. */
export function safeName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, "_");
  return /^\.+$/.test(safe) ? safe.replace(/\./g, "_") : safe;
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
 * Files are named by their content (`weights.<sha256 prefix>.bin`) and never overwritten: a new
 * version of a name is written beside the old one (through a temporary file), recorded, and only
 * then is the old file removed, so a crash at any point leaves the recorded file intact.
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

  /** Where a version of an artifact lives: its name with the content's hash before the extension. */
  private relPath(trial: number | null, name: string, sha: string): string {
    checkName(name);
    const parts = name.split("/");
    const file = parts.pop()!;
    const dot = file.lastIndexOf(".");
    const versioned = dot > 0 ? `${file.slice(0, dot)}.${sha.slice(0, 16)}${file.slice(dot)}` : `${file}.${sha.slice(0, 16)}`;
    return join(trial === null ? "experiment" : `trial-${trial}`, ...parts, versioned);
  }

  async put(trial: number | null, name: string, data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const sha = sha256(bytes);
    const rel = this.relPath(trial, name, sha);
    const file = join(this.root, rel);
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomUUID()}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, file); // the same content under the same name when it exists: nothing changes
    const previous = await this.store.getArtifact(this.experimentId, trial, name);
    await this.store.recordArtifact(this.experimentId, { trial, name, path: rel.split(sep).join("/"), bytes: bytes.length, sha256: sha, createdAt: Date.now() });
    if (previous && previous.path !== rel.split(sep).join("/")) rmSync(this.fileOf(previous), { force: true });
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
