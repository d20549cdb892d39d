import {
  isStructuralTag,
  parseTags,
  renameStepInTags,
  stepNamesFromTags,
  suggestStepName,
  validateStepName,
  writeTags
} from '../model/tags';

describe('parseTags', () => {
  it('reads step:, prev: and special kinds', () => {
    expect(parseTags(['step:train', 'prev:load', 'prev:clean'])).toEqual({
      kind: 'step',
      name: 'train',
      prev: ['load', 'clean']
    });
    expect(parseTags(['imports']).kind).toBe('imports');
    expect(parseTags(['pipeline-parameters']).kind).toBe('pipeline-parameters');
    expect(parseTags([]).kind).toBe('none');
    expect(parseTags(undefined).kind).toBe('none');
  });

  it('reads the legacy block: alias as a step', () => {
    expect(parseTags(['block:load'])).toEqual({
      kind: 'step',
      name: 'load',
      prev: []
    });
  });

  it('keeps the first kind tag, like the server parser', () => {
    expect(parseTags(['skip', 'step:x']).kind).toBe('skip');
    expect(parseTags(['step:a', 'block:b']).name).toBe('a');
  });

  it('ignores invalid names, duplicates and non-strings', () => {
    expect(parseTags(['step:1bad', 42, 'prev:a', 'prev:a', 'prev:'])).toEqual({
      kind: 'none',
      name: null,
      prev: ['a']
    });
  });
});

describe('writeTags', () => {
  it('writes step: (never block:) and keeps Kale config tags untouched and in order', () => {
    const original = [
      'block:old',
      'image:python:3.11',
      'prev:x',
      'limit:nvidia.com/gpu:1',
      'label:team:ml',
      'annotation:a:b',
      'secret:s:k:ENV',
      'cache:disabled',
      'mytag'
    ];
    expect(
      writeTags(original, { kind: 'step', name: 'train', prev: ['load'] })
    ).toEqual([
      'step:train',
      'prev:load',
      'image:python:3.11',
      'limit:nvidia.com/gpu:1',
      'label:team:ml',
      'annotation:a:b',
      'secret:s:k:ENV',
      'cache:disabled',
      'mytag'
    ]);
  });

  it('drops prev: for non-step kinds and writes nothing for an untagged cell', () => {
    expect(
      writeTags(['step:a', 'prev:b', 'x'], {
        kind: 'skip',
        name: null,
        prev: ['b']
      })
    ).toEqual(['skip', 'x']);
    expect(
      writeTags(['step:a', 'prev:b'], { kind: 'none', name: null, prev: [] })
    ).toEqual([]);
  });

  it('drops self-dependencies and duplicates', () => {
    expect(
      writeTags([], { kind: 'step', name: 'a', prev: ['a', 'b', 'b'] })
    ).toEqual(['step:a', 'prev:b']);
  });

  it('round-trips through parseTags', () => {
    const next = { kind: 'step' as const, name: 'eval', prev: ['t1', 't2'] };
    expect(parseTags(writeTags(['image:x'], next))).toEqual(next);
  });

  it('refuses an invalid step name', () => {
    expect(() =>
      writeTags([], { kind: 'step', name: 'has space', prev: [] })
    ).toThrow(/not a valid step name/);
  });
});

describe('names', () => {
  it('validates step names like the server', () => {
    expect(validateStepName('load_data')).toBeNull();
    expect(validateStepName('_x-1')).toBeNull();
    expect(validateStepName('')).toMatch(/needs a name/);
    expect(validateStepName('9lives')).toMatch(/not a valid/);
  });

  it('suggests valid names from free text', () => {
    expect(suggestStepName('Load data!')).toBe('load_data');
    expect(suggestStepName('2nd pass')).toBe('_2nd_pass');
    expect(suggestStepName('  ')).toBe('');
    expect(validateStepName(suggestStepName('2nd pass'))).toBeNull();
  });

  it('lists declared step names in order, once', () => {
    expect(
      stepNamesFromTags([
        ['step:a'],
        ['imports'],
        ['block:b'],
        ['step:a'],
        null
      ])
    ).toEqual(['a', 'b']);
  });

  it('classifies structural tags', () => {
    expect(isStructuralTag('step:a')).toBe(true);
    expect(isStructuralTag('block:a')).toBe(true);
    expect(isStructuralTag('prev:a')).toBe(true);
    expect(isStructuralTag('pipeline-metrics')).toBe(true);
    expect(isStructuralTag('image:python')).toBe(false);
    expect(isStructuralTag('cache:enabled')).toBe(false);
  });
});

describe('renameStepInTags', () => {
  it('rewrites prev: references and leaves other cells alone', () => {
    expect(renameStepInTags(['step:b', 'prev:a', 'image:x'], 'a', 'z')).toEqual(
      ['step:b', 'prev:z', 'image:x']
    );
    expect(renameStepInTags(['step:b'], 'a', 'z')).toBeNull();
    expect(renameStepInTags(['prev:a', 'prev:z'], 'a', 'z')).toEqual([
      'prev:z'
    ]);
  });

  it("renames the step's own step:/block: tags, keeping the alias and the other tags", () => {
    expect(renameStepInTags(['step:a', 'image:x'], 'a', 'z')).toEqual([
      'step:z',
      'image:x'
    ]);
    expect(renameStepInTags([' block:a', 'cache:disabled'], 'a', 'z')).toEqual([
      'block:z',
      'cache:disabled'
    ]);
    // Only exact names: step:ab is another step, and a config tag that mentions the name is left alone.
    expect(renameStepInTags(['step:ab', 'label:step:a'], 'a', 'z')).toBeNull();
  });

  it('drops a prev: that the rename turns into a self-dependency', () => {
    expect(renameStepInTags(['step:b', 'prev:a'], 'b', 'a')).toEqual([
      'step:a'
    ]);
  });
});
