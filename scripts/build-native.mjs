// Builds the libtorch binding (src/engine/native) when libtorch is present; otherwise explains
// how to get it and exits 0, so that everything that needs no tensor engine still installs.
// libtorch is found through $LIBTORCH (an unpacked libtorch folder: include/ and lib/) or
// Debian's package layout (apt-get install libtorch-dev).
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "src", "engine", "native");

function locate() {
  const env = process.env.LIBTORCH;
  if (env) {
    if (!existsSync(join(env, "include", "torch", "csrc", "api", "include", "torch", "torch.h"))) {
      console.error(`archsearch: LIBTORCH=${env} has no include/torch/csrc/api/include/torch/torch.h`);
      process.exit(1);
    }
    return { include: join(env, "include"), lib: join(env, "lib") };
  }
  if (existsSync("/usr/include/torch/csrc/api/include/torch/torch.h")) {
    const lib = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"].find((d) => existsSync(join(d, "libtorch.so")));
    if (lib) return { include: "/usr/include", lib };
  }
  return undefined;
}

const where = locate();
if (!where) {
  console.log(
    "archsearch: libtorch not found, so the tensor engine is not built (simulated search and command trials work without it).\n" +
      "  To build it: apt-get install libtorch-dev (Debian/Ubuntu), or set LIBTORCH to an unpacked libtorch, then run `npm run build:native`.",
  );
  process.exit(0);
}
// npm tells scripts where its bundled node-gyp is; otherwise look beside npm.
const gyp = [
  process.env.npm_config_node_gyp,
  join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"),
  join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
].find((p) => p && existsSync(p));
const args = ["rebuild", `--directory=${native}`, `--torch_include=${where.include}`, `--torch_lib=${where.lib}`, "--jobs=max"];
// Build against the headers of the running Node when they are installed (no download needed).
const prefix = process.env.npm_config_nodedir || join(dirname(process.execPath), "..");
if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
const cmd = gyp ? [process.execPath, [gyp, ...args]] : ["node-gyp", args];
console.log(`archsearch: building the libtorch binding against ${where.include} (takes a minute or two)`);
const r = spawnSync(cmd[0], cmd[1], { stdio: "inherit" });
process.exit(r.status ?? 1);
