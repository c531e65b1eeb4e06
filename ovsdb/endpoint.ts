import { type Endpoint, formatEndpoint, parseEndpointText } from '../schemas/endpoint.js';
import { OvsdbError } from './errors.js';

export { type Endpoint, formatEndpoint };

export function parseEndpoint(text: string): Endpoint {
  const ep = parseEndpointText(text);
  if (typeof ep === 'string') throw new OvsdbError('INVALID_ENDPOINT', `"${text}" is not an OVSDB endpoint: ${ep}`);
  return ep;
}

/** A comma-separated list of remotes means the members of a cluster. */
export function parseEndpoints(text: string): Endpoint[] {
  return text.split(',').map((part) => parseEndpoint(part.trim()));
}
