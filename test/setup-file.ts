import { afterAll } from 'vitest';
import { removeTempDirs } from '../sandbox/index.js';

// Registered before the test file's own hooks, so it runs after them: once
// the file's servers have stopped, its folders go.
afterAll(removeTempDirs);
