/** Benchmark dispatcher: `npm run bench -- NAME [flags]`. */
import { searchBench } from "./search.js";

const benches: Record<string, (argv: string[]) => Promise<void>> = { search: searchBench };

const [name, ...rest] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join("|")}> [flags]`);
  process.exit(2);
}
bench(rest).catch((e: Error) => {
  console.error(e.stack ?? String(e));
  process.exit(1);
});
