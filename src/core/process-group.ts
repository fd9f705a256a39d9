/**
 * Signal a whole process group (a child spawned with `detached: true` leads its own): the
 * shell and whatever it started in the background, not only the shell.
 */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: everyone in the group is gone already
  }
}
