/** A table cell: what a trial's column holds (on its own: the page's bundle uses it too). */
export type Cell = string | number | boolean | null;
