/**
 * Notifications (notify.yaml) for both daemons. The composition roots build a Notifier, pass
 * its observer to the Reporter or Writer, and wrap the daemon with `withNotifications` so each
 * loaded config configures the notifier before the daemon applies it.
 */
import type { LoadedConfig } from '../config/store.js';
import type { Notifier } from './notifier.js';

export { Notifier, type NotifierOptions, type Subject } from './notifier.js';
export { reporterObserver, writerObserver } from './hooks.js';
export type { DeliveryStats } from './queue.js';
export type { Notification } from './types.js';

interface Daemon {
  apply(cfg: LoadedConfig): Promise<void>;
  stop(): Promise<void>;
}

export function withNotifications<D extends Daemon>(daemon: D, notifier: Notifier): Daemon {
  return {
    async apply(cfg) {
      await notifier.configure(cfg.notify);
      await daemon.apply(cfg);
    },
    async stop() {
      await daemon.stop();
      await notifier.close();
    },
  };
}
