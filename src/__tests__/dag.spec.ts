import { IStep } from '../api/types';
import {
  buildEdges,
  edgeLabel,
  edgePath,
  IDagEdge,
  IDagLayout,
  layoutDag,
  midpoint
} from '../model/dag';
import { intersects, samplesFromMiddle } from '../model/dag-geometry';
import {
  estimateTextWidth,
  fitLabel,
  LABEL_MAX_WIDTH
} from '../model/dag-labels';

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

/** The 100-step DAG of the UI benchmark (ui-tests/test_pipeline.py): a chain plus a skip edge from i-3 at even i. */
function hundredSteps(): { names: string[]; edges: IDagEdge[] } {
  const names = Array.from({ length: 100 }, (_, i) => `s${i}`);
  const edges: IDagEdge[] = [];
  for (let i = 1; i < 100; i++) {
    edges.push({ from: names[i - 1], to: names[i], variables: [`v${i - 1}`] });
    if (i >= 3 && i % 2 === 0) {
      edges.push({
        from: names[i - 3],
        to: names[i],
        variables: [`v${i - 3}`]
      });
    }
  }
  return { names, edges };
}

/** One producer feeding `width` consumers, each reading several long names, and one step reading them all back. */
function wideFanOut(width: number): { names: string[]; edges: IDagEdge[] } {
  const long = (k: number) => `standardized_training_features_${k}`;
  const consumers = Array.from({ length: width }, (_, i) => `train_model_${i}`);
  const edges: IDagEdge[] = consumers.map((c, i) => ({
    from: 'load_and_split',
    to: c,
    variables: Array.from({ length: 1 + (i % 5) }, (_, k) => long(k + i))
  }));
  for (const c of consumers) {
    edges.push({
      from: c,
      to: 'report',
      variables: [`${c}_score`, `${c}_fitted_estimator`]
    });
  }
  edges.push({
    from: 'load_and_split',
    to: 'report',
    variables: [long(0), long(1)]
  });
  return { names: ['load_and_split', ...consumers, 'report'], edges };
}

/** No label box meets another or a node; each lies inside the drawing and on or beside its own edge. */
function expectReadableLabels(layout: IDagLayout): void {
  const labels = layout.edges.filter(e => e.labelBox);
  const nodes = layout.nodes.map(n => ({
    name: n.name,
    box: {
      x: n.x - n.width / 2,
      y: n.y - n.height / 2,
      width: n.width,
      height: n.height
    }
  }));
  const clashes: string[] = [];
  const outside: string[] = [];
  const astray: string[] = [];
  labels.forEach((e, i) => {
    const box = e.labelBox!;
    const name = `${e.from}->${e.to} "${e.label}"`;
    for (const other of labels.slice(i + 1)) {
      if (intersects(box, other.labelBox!)) {
        clashes.push(`${name} x ${other.from}->${other.to}`);
      }
    }
    for (const n of nodes) {
      if (intersects(box, n.box)) {
        clashes.push(`${name} x node ${n.name}`);
      }
    }
    if (
      box.x < 0 ||
      box.y < 0 ||
      box.x + box.width > layout.width ||
      box.y + box.height > layout.height
    ) {
      outside.push(name);
    }
    const centre = e.labelPos!;
    const nearest = Math.min(
      ...samplesFromMiddle(e.points, 2).map(p =>
        Math.hypot(p.x - centre.x, p.y - centre.y)
      )
    );
    if (nearest > box.width / 2 + 8) {
      astray.push(name);
    }
  });
  expect({ clashes, outside, astray }).toEqual({
    clashes: [],
    outside: [],
    astray: []
  });
}

describe('edge labels', () => {
  it('shortens a label to the widest a label may be, keeping the full list on the edge', () => {
    const measure = (t: string) => t.length * 5;
    expect(fitLabel(['a', 'b'], measure)).toBe('a, b');
    expect(fitLabel(['a', 'b', 'c', 'd', 'e'], measure)).toBe('a, b, c +2');
    const names = ['first_long_variable', 'second_long_variable', 'third'];
    expect(fitLabel(names, measure)).toBe('first_long_variable +2');
    const cut = fitLabel(
      ['a_variable_name_far_too_long_for_any_label', 'b'],
      measure
    );
    expect(cut).toMatch(/^a_variable_name_.*… \+1$/);
    expect(measure(cut)).toBeLessThanOrEqual(LABEL_MAX_WIDTH);
    expect(measure(cut + 'x')).toBeGreaterThan(LABEL_MAX_WIDTH);
    expect(fitLabel([], measure)).toBe('');
  });

  it('estimates wide letters wider than narrow ones', () => {
    expect(estimateTextWidth('mmmm')).toBeGreaterThan(
      estimateTextWidth('iiii')
    );
    expect(estimateTextWidth('abc', 20)).toBeCloseTo(
      2 * estimateTextWidth('abc', 10)
    );
  });

  it('keeps the labels of a 100-step DAG apart and off the nodes', () => {
    const { names, edges } = hundredSteps();
    const layout = layoutDag(names, edges);
    expect(layout.edges.filter(e => e.labelBox)).toHaveLength(edges.length);
    expectReadableLabels(layout);
  });

  it('keeps the long labels of a wide fan-out apart and off the nodes', () => {
    const { names, edges } = wideFanOut(14);
    const layout = layoutDag(names, edges);
    const drawn = layout.edges.filter(e => e.labelBox);
    expect(drawn).toHaveLength(edges.length);
    expectReadableLabels(layout);
    for (const e of drawn) {
      expect(e.labelBox!.width).toBeLessThanOrEqual(LABEL_MAX_WIDTH + 2);
    }
    expect(drawn.some(e => e.label.includes('+'))).toBe(true);
  });

  it('grows the gap under a dense crossing no more than its labels need', () => {
    const top = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const bottom = Array.from({ length: 8 }, (_, i) => `b${i}`);
    const edges: IDagEdge[] = top.flatMap((t, i) =>
      bottom.map((b, j) => ({
        from: t,
        to: b,
        variables: [`standardized_training_features_${i * 8 + j}`]
      }))
    );
    const names = [...top, ...bottom];
    const layout = layoutDag(names, edges);
    const bare = layoutDag(
      names,
      edges.map(e => ({ ...e, variables: [] }))
    );
    expect(layout.edges.filter(e => e.labelBox)).toHaveLength(64);
    expectReadableLabels(layout);
    expect(layout.height).toBeGreaterThan(bare.height);
    // Less than half a label row per label: the labels share rows.
    expect(layout.height - bare.height).toBeLessThan((64 * 17) / 2);
  });

  it('gives the three branches of the wine example separate labels', () => {
    const xy = ['X_train', 'y_train'];
    const layout = layoutDag(
      ['preprocess', 'train_rf', 'train_gb', 'train_lr', 'evaluate'],
      [
        { from: 'preprocess', to: 'train_rf', variables: xy },
        { from: 'preprocess', to: 'train_gb', variables: xy },
        { from: 'preprocess', to: 'train_lr', variables: xy },
        { from: 'preprocess', to: 'evaluate', variables: ['X_test', 'y_test'] },
        { from: 'train_rf', to: 'evaluate', variables: ['rf'] },
        { from: 'train_gb', to: 'evaluate', variables: ['gb'] },
        { from: 'train_lr', to: 'evaluate', variables: ['lr'] }
      ]
    );
    expectReadableLabels(layout);
  });

  it('uses the measure and the widest label it is given', () => {
    const wide = layoutDag(
      ['a', 'b'],
      [{ from: 'a', to: 'b', variables: ['x'] }],
      {
        measure: t => t.length * 50
      }
    );
    expect(wide.edges[0].labelBox!.width).toBe(52);
    expectReadableLabels(wide);
    const names = ['first_long_variable', 'second_long_variable'];
    const edge = [{ from: 'a', to: 'b', variables: names }];
    const measure = (t: string) => t.length * 5;
    expect(layoutDag(['a', 'b'], edge, { measure }).edges[0].label).toBe(
      'first_long_variable +1'
    );
    expect(
      layoutDag(['a', 'b'], edge, { measure, maxLabelWidth: 220 }).edges[0]
        .label
    ).toBe('first_long_variable, second_long_variable');
  });
});
