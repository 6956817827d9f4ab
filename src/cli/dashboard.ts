import { startDashboard } from "../server/index.js";
import { isLoopback } from "../server/security.js";
import { redactUrl } from "../stores/postgres/index.js";

export interface DashboardCommandOptions {
  storage: string;
  port: number;
  host: string;
  token?: string;
  artifactDir?: string;
}

/** `archsearch dashboard`: serves the read-only web dashboard until interrupted. */
export async function dashboardCommand(o: DashboardCommandOptions): Promise<void> {
  const d = await startDashboard({ storage: o.storage, host: o.host, port: o.port, token: o.token, artifactDir: o.artifactDir });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`archsearch dashboard: ${redactUrl(o.storage)} (read-only)`);
  if (d.token !== undefined) {
    if (!isLoopback(o.host)) out(`listening on ${o.host}, reachable from other machines: every request needs the token${d.tokenGenerated ? " (generated; pass --token to choose it)" : ""}`);
    out(`open ${d.url}?token=${d.token}`);
  } else out(`open ${d.url}`);
  out("Ctrl-C stops it");
  await new Promise<void>((ok) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void d.close().then(ok);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
