/**
 * One daemon's Prometheus metrics: a prom-client Registry per daemon instance (never the global
 * default one: two daemons in one test process must not share counters). The daemons' parts
 * report through their observer interfaces (src/reporter/observer.ts, src/writer/observer.ts,
 * DiscoveryObserver), so they depend on no metrics library. Counters are bumped where things
 * happen; everything else is read when scraped (gauges' `collect`): no timer of its own.
 * Labels are bounded by the config (service, port, check, cluster, discovery, file, balancer,
 * a fixed reload reason), never a node's address.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { DiscoveryObserver, SessionEvent } from '../core/plugin.js';
import type { InstanceObserver } from '../reporter/observer.js';
import type { WriterObserver } from '../writer/observer.js';

/** Values read when scraped, not kept up to date on the hot paths. */
export interface MetricsSources {
  /** the instances and whether each is up (reporter) */
  instances?(): readonly { service: string; port: number; up: boolean }[];
  /** each discovery connection and whether its session is usable */
  sessions(): readonly { discovery: string; connected: boolean }[];
  /** config problems now, by file (relative to the config dir) */
  configProblems(): readonly { file: string }[];
  /** members per cluster (writer) */
  clusters?(): ReadonlyMap<string, readonly unknown[]>;
  /** notification deliveries so far, per backend (src/notify/) */
  notifications?(): Record<string, { sent: number; failed: number; dropped: number; attemptsFailed: number }>;
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class DaemonMetrics implements DiscoveryObserver {
  readonly registry = new Registry();
  private readonly sessionEvents: Counter<'discovery' | 'event'>;
  private readonly watchEvents: Counter<'discovery'>;

  constructor(
    daemon: 'reporter' | 'writer',
    private readonly sources: MetricsSources,
    private readonly clock: Clock,
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ daemon });
    this.sessionEvents = new Counter({ name: 'lighthouse_zk_session_events_total', help: 'ZooKeeper session events: session (new), connected (reconnected), disconnected, expired', labelNames: ['discovery', 'event'], registers });
    this.watchEvents = new Counter({ name: 'lighthouse_zk_watch_events_total', help: 'Cluster snapshots delivered by discovery watches', labelNames: ['discovery'], registers });
    this.gauge('lighthouse_zk_session_up', '1 while the discovery session is usable', ['discovery'], (set) => {
      for (const s of sources.sessions()) set({ discovery: s.discovery }, s.connected ? 1 : 0);
    });
    this.gauge('lighthouse_config_errors', 'Config problems now, per file (the last good version of the file stays in force)', ['file'], (set) => {
      const per = new Map<string, number>();
      for (const p of sources.configProblems()) per.set(p.file, (per.get(p.file) ?? 0) + 1);
      for (const [file, n] of per) set({ file }, n);
    });
    const notifications = sources.notifications;
    if (notifications) {
      // the notifier counts; its totals are copied at scrape time
      new Counter({
        name: 'lighthouse_notifications_total',
        help: 'Notifications by backend and outcome: sent, failed (given up), dropped (queue full), attempt_failed (each failed try)',
        labelNames: ['backend', 'outcome'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [backend, s] of Object.entries(notifications())) {
            for (const [outcome, n] of [['sent', s.sent], ['failed', s.failed], ['dropped', s.dropped], ['attempt_failed', s.attemptsFailed]] as const) this.inc({ backend, outcome }, n);
          }
        },
      });
    }
  }

  /** a gauge whose values are gathered at scrape time */
  private gauge(name: string, help: string, labelNames: string[], fill: (set: (labels: Record<string, string | number>, v: number) => void) => void): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, v) => this.set(labels, v));
      },
    });
  }

  sessionEvent(discovery: string, event: SessionEvent): void {
    this.sessionEvents.inc({ discovery, event });
  }

  watchEvent(discovery: string): void {
    this.watchEvents.inc({ discovery });
  }

  /** The reporter's observer: probes, published changes, flap holds. */
  reporterObserver(): InstanceObserver {
    const registers = [this.registry];
    const checks = new Counter({ name: 'lighthouse_check_results_total', help: 'Check probes by outcome', labelNames: ['service', 'port', 'check', 'result'], registers });
    const checkSeconds = new Histogram({ name: 'lighthouse_check_duration_seconds', help: 'How long a check probe took', labelNames: ['service', 'check'], buckets: SECONDS, registers });
    const transitions = new Counter({ name: 'lighthouse_instance_transitions_total', help: 'Instance state changes published (after flap damping)', labelNames: ['service', 'port', 'to'], registers });
    const flapHolds = new Counter({ name: 'lighthouse_flap_holds_total', help: 'State changes held back by flap damping', labelNames: ['service', 'port'], registers });
    const instances = this.sources.instances;
    if (instances) {
      this.gauge('lighthouse_instance_up', '1 while the instance is published as healthy', ['service', 'port'], (set) => {
        for (const i of instances()) set({ service: i.service, port: i.port }, i.up ? 1 : 0);
      });
      this.gauge('lighthouse_znodes_published', 'Instances this reporter publishes (healthy ones)', [], (set) => set({}, instances().filter((i) => i.up).length));
    }
    return {
      observed() {},
      removed() {},
      probed(service, port, check, ok, ms) {
        checks.inc({ service, port, check, result: ok ? 'pass' : 'fail' });
        checkSeconds.observe({ service, check }, ms / 1000);
      },
      changed: (service, port, up) => transitions.inc({ service, port, to: up ? 'up' : 'down' }),
      held: (service, port) => flapHolds.inc({ service, port }),
    };
  }

  /** The writer's observer: membership changes, applies (convergence, runtime commands,
   * reloads and their reasons), failures. Convergence runs from the first membership change
   * not yet applied to the end of the apply that took it. */
  writerObserver(): WriterObserver {
    const registers = [this.registry];
    const membership = new Counter({ name: 'lighthouse_writer_membership_changes_total', help: 'Cluster membership changes seen by the writer', labelNames: ['cluster'], registers });
    const convergence = new Histogram({ name: 'lighthouse_writer_convergence_seconds', help: 'From a membership event to its state applied to the balancer', labelNames: ['balancer'], buckets: SECONDS, registers });
    const applySeconds = new Histogram({ name: 'lighthouse_writer_apply_duration_seconds', help: 'Balancer apply duration (reloaded="true": it included a reload)', labelNames: ['balancer', 'reloaded'], buckets: SECONDS, registers });
    const runtimeCommands = new Counter({ name: 'lighthouse_writer_runtime_commands_total', help: 'Runtime API commands sent to the balancer', labelNames: ['balancer'], registers });
    const reloads = new Counter({ name: 'lighthouse_writer_reloads_total', help: 'Balancer reloads, by why', labelNames: ['balancer', 'reason'], registers });
    const applyFailures = new Counter({ name: 'lighthouse_writer_apply_failures_total', help: 'Balancer applies that failed (retried with backoff)', labelNames: ['balancer'], registers });
    const clusters = this.sources.clusters;
    if (clusters) {
      this.gauge('lighthouse_cluster_members', 'Members discovery lists for the cluster', ['cluster'], (set) => {
        for (const [cluster, nodes] of clusters()) set({ cluster }, nodes.length);
      });
    }
    let pendingSince: number | null = null;
    return {
      members: (cluster) => {
        membership.inc({ cluster });
        pendingSince ??= this.clock.now();
      },
      removed() {},
      applied: (balancer, o) => {
        if (o.runtimeCommands) runtimeCommands.inc({ balancer }, o.runtimeCommands);
        if (o.reloaded) reloads.inc({ balancer, reason: o.reloadReason ?? 'unknown' });
        applySeconds.observe({ balancer, reloaded: String(o.reloaded) }, o.ms / 1000);
        if (pendingSince !== null) convergence.observe({ balancer }, (this.clock.now() - pendingSince) / 1000);
        pendingSince = null;
      },
      applyFailed: (balancer) => applyFailures.inc({ balancer }),
    };
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
