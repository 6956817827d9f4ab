/**
 * Exact expected test accuracy of random search on a table: draw N architectures uniformly
 * without replacement, keep the best by validation accuracy (ties: mean over the tied), report
 * its test accuracy. P(max validation = v) = [C(c(v), N) - C(c(v-), N)] / C(M, N), where c(v)
 * counts rows with validation <= v.
 */
export function exactRandomSearch(valid: ArrayLike<number>, test: ArrayLike<number>, n: number): number {
  const rows: { v: number; t: number }[] = [];
  for (let i = 0; i < valid.length; i++) if (Number.isFinite(valid[i]) && Number.isFinite(test[i])) rows.push({ v: valid[i], t: test[i] });
  rows.sort((a, b) => a.v - b.v);
  const m = rows.length;
  const logFact = new Float64Array(m + 1);
  for (let i = 1; i <= m; i++) logFact[i] = logFact[i - 1] + Math.log(i);
  const logC = (a: number, b: number) => (b > a ? -Infinity : logFact[a] - logFact[b] - logFact[a - b]);
  const total = logC(m, n);
  let expected = 0;
  let below = 0;
  for (let i = 0; i < m; ) {
    let j = i;
    let sum = 0;
    while (j < m && rows[j].v === rows[i].v) sum += rows[j++].t;
    const p = Math.exp(logC(j, n) - total) - (below > 0 ? Math.exp(logC(below, n) - total) : 0);
    expected += p * (sum / (j - i));
    below = j;
    i = j;
  }
  return expected;
}
