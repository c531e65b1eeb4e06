/** This release of ovn-chassis (the controller and the agent ship together); a test keeps it equal to package.json's. */
export const VERSION = '0.1.0';

/** The agent's container image for this release (npm run image builds it). */
export const AGENT_IMAGE = `ovn-chassis-agent:${VERSION}`;

/** The Open vSwitch and OVN releases the test suite runs against (Debian's, on the machines the suite runs on). */
export const TESTED_WITH = { openvswitch: '3.1', ovn: '23.03' } as const;

/** What `--version` says of a command: its release, the agent protocol, the Node.js it runs on, and what it was tested with. */
export function versionInfo(program: string, protocol: number): { program: string; version: string; protocol: number; node: string; testedWith: typeof TESTED_WITH } {
  return { program, version: VERSION, protocol, node: process.versions.node, testedWith: TESTED_WITH };
}

export function formatVersion(v: ReturnType<typeof versionInfo>): string {
  return `${v.program} ${v.version}\nagent protocol ${v.protocol}\nNode.js ${v.node}\ntested with Open vSwitch ${v.testedWith.openvswitch}, OVN ${v.testedWith.ovn}`;
}
