import { afterAll } from 'vitest';
import { removeTempDirs } from '../scripts/lib/procs.js';

// Registered before the test file's own hooks, so it runs after them: once
// the file's servers have stopped, its folders go.
afterAll(removeTempDirs);
