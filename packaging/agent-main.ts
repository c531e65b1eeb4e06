// Entry of the bundled agent (npm run package, the single executable, the image).
import { main } from '../agent/cli.js';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
