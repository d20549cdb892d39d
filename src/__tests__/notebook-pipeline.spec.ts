/**
 * NotebookPipeline against a minimal in-memory notebook model with the parts of JupyterLab's API it uses
 * (getMetadata/setMetadata/deleteMetadata, cells, signals, sharedModel.transact).
 */
import { Signal } from '@lumino/signaling';

import { IAnalysis } from '../api/types';
import { NotebookPipeline } from '../model/notebook-pipeline';

class FakeCell {
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

class FakeModel {
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

function setup(cells: FakeCell[], analyze?: jest.Mock) {
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
      diagnostics: []
    }));
  const pipeline = new NotebookPipeline(panel as any, fn, 50);
  return { model, pipeline, analyze: fn };
}

describe('NotebookPipeline', () => {
  it('stores Pipeline mode in the notebook metadata, keeping other keys', () => {
    const { model, pipeline } = setup([]);
    model.meta.kale_ext = { pipeline_name: 'wine' };
    expect(pipeline.pipelineMode).toBe(false);
    pipeline.setPipelineMode(true);
    expect(model.meta.kale_ext).toEqual({
      pipeline_name: 'wine',
      version: 1,
      pipeline_mode: true
    });
    expect(pipeline.pipelineMode).toBe(true);
    pipeline.setPipelineMode(false);
    expect(model.meta.kale_ext.pipeline_mode).toBe(false);
    pipeline.dispose();
  });

  it('writes tags through the cell models and renames prev: references', () => {
    const a = new FakeCell('code', { tags: ['step:load', 'image:py'] });
    const b = new FakeCell('code', { tags: ['step:train', 'prev:load'] });
    const c = new FakeCell('code', {});
    const { model, pipeline } = setup([a, b, c]);
    const changed = jest.fn();
    pipeline.changed.connect(changed);
    pipeline.editCell(a as any, { kind: 'step', name: 'ingest', prev: [] });
    expect(a.getMetadata('tags')).toEqual(['step:ingest', 'image:py']);
    expect(b.getMetadata('tags')).toEqual(['step:train', 'prev:ingest']);
    // Each write is an undoable transaction of its own cell (the cell's undo history), none of the notebook.
    expect(model.transactions).toBe(0);
    expect(a.undoable).toEqual([{ tags: ['step:ingest', 'image:py'] }]);
    expect(b.undoable).toEqual([{ tags: ['step:train', 'prev:ingest'] }]);
    expect(changed).toHaveBeenCalled();
    expect(pipeline.stepNames()).toEqual(['ingest', 'train']);

    pipeline.editCell(c as any, {
      kind: 'step',
      name: 'eval',
      prev: ['train']
    });
    expect(c.getMetadata('tags')).toEqual(['step:eval', 'prev:train']);
    expect(pipeline.assignments().map(x => x.step)).toEqual([
      'ingest',
      'train',
      'eval'
    ]);
    pipeline.editCell(c as any, { kind: 'none', name: null, prev: [] });
    expect(c.getMetadata('tags')).toBeUndefined();
    expect(c.undoable[c.undoable.length - 1]).toEqual({ tags: undefined });
    pipeline.dispose();
  });

  it('analyzes at once after a tag edit, and debounces content changes', async () => {
    jest.useFakeTimers();
    try {
      const a = new FakeCell('code', {});
      const { model, pipeline, analyze } = setup([a]);
      await Promise.resolve();
      analyze.mockClear();
      model.contentChanged.emit();
      model.contentChanged.emit();
      expect(analyze).not.toHaveBeenCalled();
      jest.advanceTimersByTime(50);
      expect(analyze).toHaveBeenCalledTimes(1);
      expect(analyze.mock.calls[0][1]).toBe('dir/nb.ipynb');
      pipeline.editCell(a as any, { kind: 'step', name: 's', prev: [] });
      expect(analyze).toHaveBeenCalledTimes(2);
      expect(analyze.mock.calls[1][0]).toEqual({
        cells: [{ tags: ['step:s'] }]
      });
      pipeline.dispose();
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps the newest analysis when responses arrive out of order', async () => {
    const resolvers: Array<(a: IAnalysis) => void> = [];
    const analyze = jest.fn(
      () => new Promise<IAnalysis>(resolve => resolvers.push(resolve))
    );
    const { pipeline } = setup([new FakeCell('code', {})], analyze);
    pipeline.requestAnalysis(true);
    const result = (name: string): IAnalysis => ({
      pipeline: { name },
      steps: [],
      parameters: {},
      metrics: [],
      diagnostics: []
    });
    expect(resolvers).toHaveLength(2); // the initial analysis and this one
    resolvers[1](result('new'));
    await new Promise(r => setTimeout(r, 0));
    resolvers[0](result('old'));
    await new Promise(r => setTimeout(r, 0));
    expect(pipeline.analysis?.pipeline.name).toBe('new');
    expect(pipeline.analyzing).toBe(false);
    pipeline.dispose();
  });
});
