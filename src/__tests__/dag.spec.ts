import { IStep } from '../api/types';
import {
  buildEdges,
  edgeLabel,
  edgePath,
  layoutDag,
  midpoint
} from '../model/dag';

function step(name: string, extra: Partial<IStep> = {}): IStep {
  return {
    name,
    cells: [],
    depends_on: [],
    inputs: [],
    outputs: [],
    parameters: [],
    input_sources: {},
    ...extra
  };
}

describe('buildEdges', () => {
  it('labels data edges with the variables that flow and adds order-only edges', () => {
    const steps = [
      step('load', { outputs: ['df', 'wine'] }),
      step('prep', {
        depends_on: ['load'],
        inputs: ['wine', 'df'],
        input_sources: { df: 'load', wine: 'load' }
      }),
      step('report', { depends_on: ['prep', 'load'] }),
      step('eval', {
        depends_on: ['prep'],
        inputs: ['X', 'y', 'df'],
        input_sources: { X: 'prep', y: 'prep', df: 'load' }
      })
    ];
    expect(buildEdges(steps)).toEqual([
      { from: 'load', to: 'prep', variables: ['df', 'wine'] },
      { from: 'prep', to: 'report', variables: [] },
      { from: 'load', to: 'report', variables: [] },
      { from: 'prep', to: 'eval', variables: ['X', 'y'] },
      { from: 'load', to: 'eval', variables: ['df'] }
    ]);
  });

  it('drops edges to unknown steps and self-edges', () => {
    const steps = [
      step('a', {
        depends_on: ['ghost', 'a'],
        inputs: ['v'],
        input_sources: { v: 'ghost' }
      })
    ];
    expect(buildEdges(steps)).toEqual([]);
  });
});

describe('layout', () => {
  it('shortens long labels', () => {
    expect(edgeLabel(['a', 'b'])).toBe('a, b');
    expect(edgeLabel(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c +2');
  });

  it('places every node and ranks a chain top to bottom', () => {
    const names = ['a', 'b', 'c'];
    const layout = layoutDag(names, [
      { from: 'a', to: 'b', variables: ['x'] },
      { from: 'b', to: 'c', variables: [] }
    ]);
    expect(layout.nodes.map(n => n.name)).toEqual(names);
    const y = Object.fromEntries(layout.nodes.map(n => [n.name, n.y]));
    expect(y.a).toBeLessThan(y.b);
    expect(y.b).toBeLessThan(y.c);
    expect(layout.edges[0].labelPos).not.toBeNull();
    expect(layout.edges[1].labelPos).toBeNull();
    expect(layout.edges[0].points.length).toBeGreaterThanOrEqual(2);
    for (const n of layout.nodes) {
      expect(n.x + n.width / 2).toBeLessThanOrEqual(layout.width + 0.01);
      expect(n.y + n.height / 2).toBeLessThanOrEqual(layout.height + 0.01);
    }
  });

  it('puts parallel branches side by side', () => {
    const layout = layoutDag(
      ['p', 'l', 'r'],
      [
        { from: 'p', to: 'l', variables: [] },
        { from: 'p', to: 'r', variables: [] }
      ]
    );
    const [, l, r] = layout.nodes;
    expect(l.y).toBe(r.y);
    expect(l.x).not.toBe(r.x);
  });

  it('lays out 100 steps', () => {
    const names = Array.from({ length: 100 }, (_, i) => `s${i}`);
    const edges = names.slice(1).map((n, i) => ({
      from: names[i],
      to: n,
      variables: [`v${i}`]
    }));
    const layout = layoutDag(names, edges);
    expect(layout.nodes).toHaveLength(100);
    expect(layout.edges).toHaveLength(99);
  });

  it('puts labels halfway along the edge', () => {
    expect(
      midpoint([
        { x: 0, y: 0 },
        { x: 0, y: 10 },
        { x: 30, y: 10 }
      ])
    ).toEqual({ x: 10, y: 10 });
    expect(midpoint([{ x: 3, y: 4 }])).toEqual({ x: 3, y: 4 });
    const layout = layoutDag(
      ['a', 'b'],
      [{ from: 'a', to: 'b', variables: ['x'] }]
    );
    const [a, b] = layout.nodes;
    const pos = layout.edges[0].labelPos!;
    expect(pos.y).toBeGreaterThan(a.y + a.height / 2);
    expect(pos.y).toBeLessThan(b.y - b.height / 2);
  });

  it('keeps labels of outer edges inside the drawing', () => {
    const long = Array.from({ length: 3 }, (_, i) => `a_long_variable_${i}`);
    const layout = layoutDag(
      ['p', 'l', 'r', 'c'],
      [
        { from: 'p', to: 'l', variables: long },
        { from: 'p', to: 'r', variables: long },
        { from: 'p', to: 'c', variables: long },
        { from: 'l', to: 'c', variables: [] }
      ]
    );
    for (const e of layout.edges) {
      if (e.labelPos) {
        const half = (e.label.length * 5.5) / 2;
        expect(e.labelPos.x - half).toBeGreaterThanOrEqual(0);
        expect(e.labelPos.x + half).toBeLessThanOrEqual(layout.width);
      }
    }
  });

  it('draws paths through the points', () => {
    expect(edgePath([])).toBe('');
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 1, y: 2 }
      ])
    ).toBe('M0,0 L1,2');
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 10, y: 10 },
        { x: 20, y: 0 }
      ])
    ).toBe('M0,0 Q10,10 20,0');
  });
});
