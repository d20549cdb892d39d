/**
 * NotebookPipeline against a minimal in-memory notebook model (fake-notebook.ts).
 */
import { IAnalysis, ICellRole } from '../api/types';
import { FakeCell, setup } from './fake-notebook';

function analysis(cells: ICellRole[], name = 'nb'): IAnalysis {
  return {
    pipeline: { name },
    steps: [],
    parameters: {},
    metrics: [],
    diagnostics: [],
    cells
  };
}

/** Let pending promise callbacks (the fake analysis' answers) run. */
const settle = () => new Promise(r => setTimeout(r, 0));

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

  it('writes tags through the cell models and renames prev: references', async () => {
    const a = new FakeCell('code', { tags: ['step:load', 'image:py'] });
    const b = new FakeCell('code', { tags: ['step:train', 'prev:load'] });
    const c = new FakeCell('code', {});
    // The server's answer once c is tagged (the frontend shows it; it never derives the assignment from tags).
    const answer = jest.fn(async (): Promise<IAnalysis> =>
      analysis(
        ['ingest', 'train', 'eval'].map((step, index) => ({
          index,
          role: 'step' as const,
          step
        }))
      )
    );
    const { model, pipeline } = setup([a, b, c], answer);
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
    await settle();
    expect(pipeline.assignments().map(x => x?.step)).toEqual([
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
      diagnostics: [],
      cells: []
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

  it("shows no role before the analysis answers, then the server's roles, matched by cell identity", async () => {
    // Untagged cells after a skip cell: the server joins them to the step above the skip cell (Kale's semantics).
    const load = new FakeCell('code', { tags: ['step:load'] });
    const skip = new FakeCell('code', { tags: ['skip'] });
    const rest = new FakeCell('code', {});
    const resolvers: Array<(a: IAnalysis) => void> = [];
    const analyze = jest.fn(
      () => new Promise<IAnalysis>(resolve => resolvers.push(resolve))
    );
    const { model, pipeline } = setup([load, skip, rest], analyze);
    expect(pipeline.assignments()).toEqual([null, null, null]);
    resolvers[0](
      analysis([
        { index: 0, role: 'step', step: 'load' },
        { index: 1, role: 'skip', step: null },
        { index: 2, role: 'step', step: 'load' }
      ])
    );
    await settle();
    expect(pipeline.assignments()).toEqual([
      { role: 'step', step: 'load', inherited: false },
      { role: 'skip', step: null, inherited: false },
      { role: 'step', step: 'load', inherited: true }
    ]);
    // A cell inserted above: no role for it until the next answer, and the others keep theirs.
    const added = new FakeCell('code', {});
    model.items.unshift(added);
    expect(pipeline.assignments()).toEqual([
      null,
      { role: 'step', step: 'load', inherited: false },
      { role: 'skip', step: null, inherited: false },
      { role: 'step', step: 'load', inherited: true }
    ]);
    pipeline.dispose();
  });

  it('renames every cell of a renamed step, block: alias included, and the prev: tags naming it', () => {
    const head = new FakeCell('code', { tags: ['step:prep', 'image:py'] });
    const more = new FakeCell('code', {
      tags: ['block:prep', 'cache:disabled']
    });
    const note = new FakeCell('markdown', {});
    const again = new FakeCell('code', { tags: ['step:prep'] });
    const next = new FakeCell('code', { tags: ['step:fit', 'prev:prep'] });
    const other = new FakeCell('code', { tags: ['step:other'] });
    const { model, pipeline } = setup([head, more, note, again, next, other]);
    pipeline.editCell(head as any, { kind: 'step', name: 'clean', prev: [] });
    expect(head.getMetadata('tags')).toEqual(['step:clean', 'image:py']);
    expect(more.getMetadata('tags')).toEqual(['block:clean', 'cache:disabled']);
    expect(again.getMetadata('tags')).toEqual(['step:clean']);
    expect(next.getMetadata('tags')).toEqual(['step:fit', 'prev:clean']);
    expect(other.getMetadata('tags')).toEqual(['step:other']);
    expect(note.getMetadata('tags')).toBeUndefined();
    // One undoable transaction per changed cell, none for the others and none of the notebook.
    expect(model.transactions).toBe(0);
    expect([head, more, again, next].map(c => c.undoable.length)).toEqual([
      1, 1, 1, 1
    ]);
    expect(other.undoable).toEqual([]);
    expect(pipeline.stepNames()).toEqual(['clean', 'fit', 'other']);
    pipeline.dispose();
  });
});
