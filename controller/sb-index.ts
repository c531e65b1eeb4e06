import type { Row, RowChange } from '../ovsdb/index.js';

/**
 * The Southbound's Chassis and Encap rows, indexed by chassis name and by
 * encap, kept from the monitor's row changes. Pure. Each batch of changes
 * says which chassis it touched, so verdicts are re-assessed only for those:
 * the work per Southbound event is the size of the event, not of the fleet.
 */
export class SouthboundIndex {
  private readonly chassis = new Map<string, Row>();
  /** Chassis row uuid → its name, so a delete that carries no old row still finds what it removes. */
  private readonly nameOfRow = new Map<string, string>();
  private readonly encapRows = new Map<string, Row>();
  /** Encap uuid → the names of the chassis whose `encaps` list it (a Chassis row says which encaps are its own). */
  private readonly ownersOfEncap = new Map<string, Set<string>>();

  /**
   * Applies a batch of changes (one transaction's, in any order); returns the
   * names of the chassis whose verdict may have changed.
   */
  apply(changes: readonly RowChange[]): Set<string> {
    const touched = new Set<string>();
    // Everything old goes before anything new: a transaction that deletes a chassis and inserts another of the same name leaves the new one.
    for (const c of changes) {
      if (c.table === 'Chassis') this.dropChassis(c.uuid, touched);
      else if (c.table === 'Encap' && !c.new) this.encapRows.delete(c.uuid);
    }
    for (const c of changes) {
      if (c.table === 'Chassis' && c.new) this.addChassis(c.uuid, c.new, touched);
      else if (c.table === 'Encap') {
        if (c.new) this.encapRows.set(c.uuid, c.new);
        for (const name of this.ownersOfEncap.get(c.uuid) ?? []) touched.add(name);
      }
    }
    return touched;
  }

  chassisByName(name: string): Row | undefined {
    return this.chassis.get(name);
  }

  names(): IterableIterator<string> {
    return this.chassis.keys();
  }

  encaps(): Map<string, Row> {
    return this.encapRows;
  }

  private dropChassis(uuid: string, touched: Set<string>): void {
    const name = this.nameOfRow.get(uuid);
    if (name === undefined) return;
    touched.add(name);
    this.nameOfRow.delete(uuid);
    const row = this.chassis.get(name);
    if (row?._uuid !== uuid) return;
    this.chassis.delete(name);
    for (const e of encapsOf(row)) {
      const owners = this.ownersOfEncap.get(e);
      owners?.delete(name);
      if (owners?.size === 0) this.ownersOfEncap.delete(e);
    }
  }

  private addChassis(uuid: string, row: Row, touched: Set<string>): void {
    const name = row.name as string;
    touched.add(name);
    this.nameOfRow.set(uuid, name);
    this.chassis.set(name, row);
    for (const e of encapsOf(row)) {
      const owners = this.ownersOfEncap.get(e) ?? new Set<string>();
      owners.add(name);
      this.ownersOfEncap.set(e, owners);
    }
  }
}

function encapsOf(row: Row | undefined): string[] {
  return Array.isArray(row?.encaps) ? (row.encaps as string[]) : [];
}

type Listener = (names: Set<string>) => void;

/**
 * Who hears of which chassis: a listener for some chassis names is called
 * only for changes that touched one of them, so the work per Southbound
 * event is the size of the event, not of the nodes waiting (a rollout's
 * whole batch waits at once). Pure.
 */
export class TouchFanout {
  private readonly everyone = new Set<Listener>();
  private readonly byName = new Map<string, Set<Listener>>();

  /** `names` undefined: every change. Returns the unsubscribe. */
  subscribe(listener: Listener, names?: Iterable<string>): () => void {
    if (!names) {
      this.everyone.add(listener);
      return () => this.everyone.delete(listener);
    }
    const own = [...new Set(names)];
    for (const n of own) this.byName.set(n, (this.byName.get(n) ?? new Set()).add(listener));
    return () => {
      for (const n of own) {
        const set = this.byName.get(n);
        set?.delete(listener);
        if (set?.size === 0) this.byName.delete(n);
      }
    };
  }

  publish(touched: Set<string>): void {
    const called = new Set<Listener>(this.everyone);
    for (const name of touched) for (const l of this.byName.get(name) ?? []) called.add(l);
    for (const l of called) l(touched);
  }
}

/** A table's rows as inserts: how an index starts from a monitor's cache. */
export function asInserts(table: string, rows: Map<string, Row>): RowChange[] {
  return [...rows].map(([uuid, row]) => ({ table, uuid, kind: 'insert', new: row }));
}
