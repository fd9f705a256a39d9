/**
 * One config file's text to its validated value: YAML with positions, `${env:}` / `${file:}`
 * resolved, the schema of its kind (a plugin's own for balancers/ and discovery/), an action's
 * scripts beside its metadata.yaml. Problems are thrown as one ConfigError naming
 * file:line:column and path, with every known secret masked; warnings are returned.
 */
import { dirname, join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../core/errors.js';
import type { Registry } from '../core/registry.js';
import type { BalancerPlugin } from '../core/plugin.js';
import type { Secrets } from '../core/redact.js';
import { notifySchema } from '../notify/schema.js';
import type { FileKind, FileRole } from './files.js';
import { check, issuesToProblems, parseYaml, type Issue } from './yaml.js';
import { loggingSchema, nodeSchema, pluginsSchema, validateCluster, validateService } from './schema.js';
import { availabilitySchema } from '../control/schema.js';
import { httpSchema } from '../http/schema.js';
import { usersSchema } from '../http/users.js';
import { actionMetadataSchema, loadActionScripts } from '../actions/definition.js';
import { revokedSchema } from '../actions/revoked.js';

export interface FileValidatorOptions {
  dir: string;
  registry: Registry;
  secrets?: Secrets;
  env: NodeJS.ProcessEnv;
}

export interface Validated {
  data: unknown;
  warnings: ConfigProblem[];
}

export class FileValidator {
  constructor(private readonly opts: FileValidatorOptions) {}

  /** The file `rel` (relative to the config dir) with text `text`; throws ConfigError. */
  async validate(rel: string, role: FileRole, text: string): Promise<Validated> {
    return role.kind === 'action' ? this.validateAction(rel, role.name, text) : this.validateYaml(rel, role.kind, role.name, text);
  }

  /** The same problems with every known secret masked (a message may quote a value). */
  redacted(err: ConfigError): ConfigError {
    const secrets = this.opts.secrets;
    if (!secrets) return err;
    return new ConfigError(err.problems.map((p) => ({ ...p, message: secrets.redact(p.message) })));
  }

  private validateYaml(rel: string, kind: FileKind, name: string, text: string): Validated {
    const { env, secrets } = this.opts;
    const parsed = parseYaml(text, rel, { env, secrets });
    secrets?.collect(parsed.value); // inline secrets, so a problem quoting one masks it
    const r = this.validateValue(kind, name, parsed.value);
    if (r.issues.length) throw new ConfigError(issuesToProblems(parsed, r.issues));
    secrets?.collect(r.data);
    const warnings = issuesToProblems(parsed, r.warnings ?? []).map((p) => ({ ...p, severity: 'warning' as const }));
    return { data: r.data, warnings: warnings.map((p) => ({ ...p, message: secrets?.redact(p.message) ?? p.message })) };
  }

  /** metadata.yaml, then the scripts beside it (their problems are named by the script's file) */
  private async validateAction(rel: string, name: string, text: string): Promise<Validated> {
    const { data } = this.validateYaml(rel, 'action', name, text);
    const dir = dirname(rel);
    const r = await loadActionScripts(name, join(this.opts.dir, dir), data as never);
    const named = (issues: typeof r.issues): ConfigProblem[] => issues.map((i) => ({ file: i.script ? `${dir}/${i.script}` : rel, path: [], message: i.message }));
    if (r.issues.length) throw new ConfigError(named(r.issues));
    return { data: r.data, warnings: named(r.warnings).map((p) => ({ ...p, severity: 'warning' as const })) };
  }

  private validateValue(kind: FileKind, name: string, value: unknown): { data?: unknown; issues: Issue[]; warnings?: Issue[] } {
    const registry = this.opts.registry;
    switch (kind) {
      case 'logging': return check(loggingSchema, value);
      case 'plugins': return check(pluginsSchema, value);
      case 'node': return check(nodeSchema, value);
      case 'availability': return check(availabilitySchema, value);
      case 'http': return check(httpSchema, value);
      case 'users': return check(usersSchema, value);
      case 'action': return check(actionMetadataSchema, value);
      case 'revoked': return check(revokedSchema, value);
      case 'notify': return check(notifySchema, value);
      case 'cluster': return validateCluster(value, name, registry);
      case 'service': return validateService(value, name, registry);
      case 'balancer':
      case 'discovery': {
        const plugins = kind === 'balancer' ? registry.balancers : registry.discovery;
        const plugin = plugins.get(name);
        if (!plugin) {
          return { issues: [{ path: [], message: `no ${kind} plugin named '${name}' (known: ${[...plugins.keys()].join(', ')}; third-party plugins go in plugins.yaml)` }] };
        }
        const r = check(plugin.schema, value);
        const lint = kind === 'balancer' ? (plugin as BalancerPlugin).warnings?.config : undefined;
        return r.data !== undefined && lint ? { ...r, warnings: lint(r.data) } : r;
      }
    }
  }
}
