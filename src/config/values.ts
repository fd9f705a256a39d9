/**
 * Zod types for config values that end up in an HAProxy line or in a znode other machines
 * trust: the shared validators of src/core/address.ts, their reasons as messages.
 */
import { z } from 'zod';
import { addressProblem, isHostname, isToken } from '../core/address.js';
import { isIP } from 'node:net';

/** A node address: an IP literal (never 0.0.0.0 / ::), or also a host name when `hostnames`. */
export const address = (hostnames: boolean) =>
  z.string().superRefine((s, ctx) => {
    const problem = addressProblem(s, hostnames);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** An address to bind: an IP literal (0.0.0.0 and :: included: every interface) or a host name. */
export const bindAddress = z.string().refine((s) => (isIP(s) !== 0 && !s.includes('%')) || isHostname(s), 'expected an IP address or a host name');

/** One word of an HAProxy line (a path, a URI): no whitespace, ';', '#' or control characters. */
export const word = z.string().refine(isToken, "must be one word: no whitespace, ';', '#' or control characters");
