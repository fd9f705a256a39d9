/**
 * The built-in health checks, in the order the registry lists them. Adding a check means
 * writing its plugin object and adding it here, nowhere else.
 */
import type { CheckPlugin } from '../core/plugin.js';
import { execCheck } from './exec.js';
import { httpCheck } from './http.js';
import { redisCheck } from './redis.js';
import { tcpCheck } from './tcp.js';

export const builtinChecks: CheckPlugin[] = [httpCheck, tcpCheck, redisCheck, execCheck];

export { execCheck, httpCheck, redisCheck, tcpCheck };
export { Hysteresis, type HysteresisState } from './hysteresis.js';
export { CheckLoop, type CheckLoopOptions, type CheckTiming } from './scheduler.js';
