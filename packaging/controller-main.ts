// Entry of the bundled controller (npm run package, the single executable).
import { main } from '../controller/cli.js';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
