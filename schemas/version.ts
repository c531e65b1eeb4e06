/** This release of ovn-chassis (the controller and the agent ship together); a test keeps it equal to package.json's. */
export const VERSION = '0.1.0';

/** The agent's container image for this release (npm run image builds it). */
export const AGENT_IMAGE = `ovn-chassis-agent:${VERSION}`;
