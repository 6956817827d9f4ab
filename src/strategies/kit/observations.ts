/**
 * At most `max` observations: the best ceil(max / 2) by score (ties to the later one), then the
 * most recent ones up to `max`, in arrival order. Model-based strategies use it to bound fit time
 * and state size while keeping both the good region and what the search is doing now.
 */
export function keepBestAndRecent<T extends { score: number }>(observations: readonly T[], max: number): T[] {
  if (observations.length <= max) return [...observations];
  const keep = new Set<number>(
    observations
      .map((o, i) => ({ s: o.score, i }))
      .sort((a, b) => b.s - a.s || b.i - a.i)
      .slice(0, Math.ceil(max / 2))
      .map((e) => e.i),
  );
  for (let i = observations.length - 1; i >= 0 && keep.size < max; i--) keep.add(i);
  return observations.filter((_, i) => keep.has(i));
}
