/** Whether a process is still there: running, and not a zombie waiting for a PID 1 that may
 * never reap it (kill(pid, 0) answers for zombies too). */
import { readFileSync } from 'node:fs';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}
