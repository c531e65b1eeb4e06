#!/usr/bin/env node
// The controller: its bundle (or compiled code) in dist/, which `npm run setup` builds.
import { start } from './start.js';

await start('../dist/controller/cli.js', 'ovn-chassis');
