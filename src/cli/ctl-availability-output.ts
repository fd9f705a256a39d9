/** What the availability commands print for people (--json prints the reporter's answer). */

interface StateView {
  state: string;
  code: number;
  message: string;
  effect: string;
  reason?: string;
  by: string;
  since: string;
  scope: string;
}

export interface StateAnswer {
  host: string;
  node: StateView;
  services: Record<string, StateView>;
  instances: { service: string; port: number; healthy: boolean; state: string; scope: string; effect: string; published: string }[];
  states: { name: string; code: number; message: string; effect: string }[];
}

function line(s: StateView): string {
  const who = s.scope === 'default' ? 'never set (the default state)' : `since ${s.since} by ${s.by}`;
  return `${s.state} (${s.code} ${s.message}; effect ${s.effect}), ${who}${s.reason ? `: ${s.reason}` : ''}`;
}

/** The node, the services' own states and every instance; `service`: that service's part only. */
export function printState(a: StateAnswer, service?: string): void {
  const out: string[] = [];
  if (service === undefined) out.push(`node ${a.host}: ${line(a.node)}`);
  for (const [name, s] of Object.entries(a.services)) if (service === undefined || name === service) out.push(`service ${name}: ${line(s)}`);
  if (service !== undefined && !(service in a.services)) out.push(`service ${service}: follows the node state (${a.node.state})`);
  for (const i of a.instances) {
    if (service !== undefined && i.service !== service) continue;
    const why = i.healthy ? `${i.state}, ${i.scope === 'service' ? 'its own state' : 'the node state'}` : 'failing its checks';
    out.push(`  ${i.service}:${i.port} ${i.published} (${why})`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function printStates(a: StateAnswer): void {
  const width = Math.max(...a.states.map((s) => s.name.length));
  for (const s of a.states) {
    const mark = s.name === a.node.state ? '*' : ' ';
    process.stdout.write(`${mark} ${s.name.padEnd(width)}  ${s.code}  ${s.effect.padEnd(8)}  ${s.message}\n`);
  }
}
