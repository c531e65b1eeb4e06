/**
 * Input that fails validation. `issues` are ready to print, one per problem,
 * each naming the field path and the bad value, e.g.
 * `encap.ip: "10.0.0.300" is not an IPv4 or IPv6 address`.
 */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  readonly issues: string[];

  constructor(source: string, issues: string[]) {
    super(`${source} is invalid:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
