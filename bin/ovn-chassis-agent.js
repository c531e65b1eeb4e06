#!/usr/bin/env node
// The node agent: its bundle (or compiled code) in dist/, which `npm run setup` builds.
import { start } from './start.js';

await start('../dist/agent/cli.js', 'ovn-chassis-agent');
