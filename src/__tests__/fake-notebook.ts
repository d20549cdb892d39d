/**
 * A minimal in-memory notebook model with the parts of JupyterLab's API that NotebookPipeline uses
 * (getMetadata/setMetadata/deleteMetadata, cells, signals, sharedModel.transact), for the spec files.
 */
import { Signal } from '@lumino/signaling';

import { IAnalysis } from '../api/types';
import { NotebookPipeline } from '../model/notebook-pipeline';

export class FakeCell {
  constructor(
    readonly type: string,
    private meta: Record<string, any>
  ) {}
  /** Tag writes must happen inside an undoable transaction of the cell (see setTags). */
  undoable: Array<Record<string, any>> = [];
  private inUndoable = false;
  sharedModel = {
    transact: (fn: () => void, undoable = true) => {
      this.inUndoable = undoable;
      try {
        fn();
      } finally {
        this.inUndoable = false;
      }
    }
  };
  metadataChanged = new Signal<FakeCell, { key: string }>(this);
  getMetadata(key: string): any {
    return this.meta[key];
  }
  setMetadata(key: string, value: any): void {
    this.meta[key] = value;
    if (this.inUndoable) {
      this.undoable.push({ [key]: value });
    }
    this.metadataChanged.emit({ key });
  }
  deleteMetadata(key: string): void {
    delete this.meta[key];
    if (this.inUndoable) {
      this.undoable.push({ [key]: undefined });
    }
    this.metadataChanged.emit({ key });
  }
}

export class FakeModel {
  constructor(readonly items: FakeCell[]) {}
  meta: Record<string, any> = {};
  transactions = 0;
  contentChanged = new Signal<FakeModel, void>(this);
  metadataChanged = new Signal<FakeModel, { key: string }>(this);
  cells = {
    changed: new Signal<any, void>(this),
    get length(): number {
      return (this as any).owner.items.length;
    },
    get: (i: number) => this.items[i],
    owner: this
  };
  sharedModel = {
    transact: (fn: () => void) => {
      this.transactions++;
      fn();
    }
  };
  getMetadata(key: string): any {
    return this.meta[key];
  }
  setMetadata(key: string, value: any): void {
    this.meta[key] = value;
    this.metadataChanged.emit({ key });
  }
  toJSON(): any {
    return { cells: this.items.map(c => ({ tags: c.getMetadata('tags') })) };
  }
}

export function setup(cells: FakeCell[], analyze?: jest.Mock) {
  const model = new FakeModel(cells);
  const panel = {
    context: { model, path: 'dir/nb.ipynb', ready: Promise.resolve() }
  };
  const fn =
    analyze ??
    jest.fn(async (): Promise<IAnalysis> => ({
      pipeline: { name: 'nb' },
      steps: [],
      parameters: {},
      metrics: [],
      diagnostics: [],
      cells: []
    }));
  const pipeline = new NotebookPipeline(panel as any, fn, 50);
  return { model, pipeline, analyze: fn };
}
