/**
 * CONFIG_DIR/actions/revoked.yaml: action tokens refused before their expiry, by id (the `jti`
 * that `lighthousectl token generate` prints). Live-reloaded like every config file; a broken
 * edit keeps the last good list in force, so a revocation is never lost to a typo.
 *
 *   revoked:
 *     - id: 9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d
 *       reason: laptop lost          # optional, for people
 *     - 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed   # a bare id works too
 */
import { z } from 'zod';

export const TOKEN_ID = /^[A-Za-z0-9_-]{8,64}$/;

const tokenId = z.string().regex(TOKEN_ID, 'expected a token id (8-64 of A-Z a-z 0-9 _ -)');

export const revokedSchema = z
  .strictObject({
    revoked: z
      .array(z.union([tokenId, z.strictObject({ id: tokenId, reason: z.string().max(500).optional(), at: z.string().max(64).optional() })]))
      .nullable()
      .default([]),
  })
  .transform((d) => ({ revoked: [...new Set((d.revoked ?? []).map((e) => (typeof e === 'string' ? e : e.id)))].sort() }));
