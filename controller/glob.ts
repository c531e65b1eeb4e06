/** A shell-style glob (* and ?) as an anchored RegExp: how --limit and known_hosts patterns match names. */
export function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}
