/** Where a store's notes for the user go (the first PostgreSQL retry): stderr, also with --quiet (it is a warning). */
export function storageNote(): (line: string) => void {
  return (line: string) => process.stderr.write(`archsearch: ${line}\n`);
}
