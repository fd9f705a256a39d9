export { waitFor } from '../../scripts/lib/wait.js';
