/**
 * The tag grammar's shared test vectors (tests/fixtures/tag_vectors.json, also read by
 * tests/notebook/test_tag_vectors.py): the frontend's reading of a cell's own tags (what fills the step editor) and
 * writing them back, and the sidebar showing the analysis' roles for every cell of each vector's notebook.
 */
import data from '../../tests/fixtures/tag_vectors.json';
import { IAnalysis, ICellRole } from '../api/types';
import { CellKind, parseTags, writeTags } from '../model/tags';
import { FakeCell, setup } from './fake-notebook';

interface IParsed {
  kind: Exclude<CellKind, 'none'> | null;
  step: string | null;
  prev?: string[];
  written: string[];
}

interface IVector {
  name: string;
  cells: Array<{ cell_type: string; tags: unknown[]; source: string }>;
  parsed: Array<IParsed | null>;
  roles: ICellRole[];
}

const VECTORS = (data as unknown as { vectors: IVector[] }).vectors;

describe('tag vectors', () => {
  it('has enough vectors, each with one entry per cell', () => {
    expect(VECTORS.length).toBeGreaterThanOrEqual(25);
    for (const v of VECTORS) {
      expect([v.parsed.length, v.roles.length]).toEqual([
        v.cells.length,
        v.cells.length
      ]);
    }
  });

  describe.each(VECTORS.map(v => [v.name, v] as const))('%s', (_, vector) => {
    const code = vector.cells
      .map((cell, i) => ({ cell, parsed: vector.parsed[i] }))
      .filter(x => x.cell.cell_type === 'code');

    it("reads each cell's own tags like the server's parser", () => {
      for (const { cell, parsed } of code) {
        expect(parseTags(cell.tags)).toEqual({
          kind: parsed!.kind ?? 'none',
          name: parsed!.step,
          prev: parsed!.prev ?? []
        });
      }
    });

    it('writes the same choice back, keeping the other tags in order', () => {
      for (const { cell, parsed } of code) {
        const written = writeTags(cell.tags, parseTags(cell.tags));
        expect(written).toEqual(parsed!.written);
        // What is written reads back as the same choice (prev: only on a step: the server rejects it elsewhere).
        const read = parseTags(cell.tags);
        expect(parseTags(written)).toEqual({
          ...read,
          prev: read.kind === 'step' ? read.prev : []
        });
      }
    });

    it("shows the analysis' role and step for every cell", async () => {
      const cells = vector.cells.map(
        c =>
          new FakeCell(c.cell_type, c.tags.length > 0 ? { tags: c.tags } : {})
      );
      const answer: IAnalysis = {
        pipeline: { name: 'nb' },
        steps: [],
        parameters: {},
        metrics: [],
        diagnostics: [],
        cells: vector.roles
      };
      const { pipeline } = setup(
        cells,
        jest.fn(async () => answer)
      );
      await new Promise(r => setTimeout(r, 0));
      expect(pipeline.assignments()).toEqual(
        vector.roles.map((role, i) => ({
          role: role.role,
          step: role.step,
          inherited:
            vector.cells[i].cell_type === 'code' &&
            vector.parsed[i]!.kind === null
        }))
      );
      pipeline.dispose();
    });
  });
});
