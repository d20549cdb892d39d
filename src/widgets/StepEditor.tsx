/**
 * The compact step editor shown above every code cell in Pipeline mode: kind, step name (suggesting existing names),
 * depends-on chips, and the cell's diagnostics. The kind, name and dependencies come from the cell's own tags; which
 * step an untagged cell continues comes from the analysis (the server's assignment), never from tags. It edits tags
 * only through NotebookPipeline.editCell (the notebook model), so every change is undoable and saved with the notebook.
 */
import { ICellModel } from '@jupyterlab/cells';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { IDiagnostic } from '../api/types';
import { ICellAssignment, NotebookPipeline } from '../model/notebook-pipeline';
import {
  CELL_KINDS,
  CellKind,
  parseTags,
  suggestStepName,
  validateStepName
} from '../model/tags';

export interface IStepEditorProps {
  tags: string[];
  /** The analysis' answer for this cell, or null while there is none. */
  assignment: ICellAssignment | null;
  stepNames: string[];
  colorOf: (name: string) => string;
  diagnostics: IDiagnostic[];
  cellIndex: number;
  onChange: (next: {
    kind: CellKind;
    name: string | null;
    prev: string[];
  }) => void;
  onJump: (d: IDiagnostic) => void;
}

export function StepEditorView(props: IStepEditorProps): JSX.Element {
  const parsed = parseTags(props.tags);
  const { assignment } = props;
  const [name, setName] = useState(parsed.name ?? '');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setName(parsed.name ?? '');
    setError(null);
  }, [parsed.name]);
  const others = props.stepNames.filter(n => n !== parsed.name);
  const listId = `jp-Kale-steps-${props.cellIndex}`;

  const setKind = (kind: CellKind) => {
    if (kind === 'step') {
      const proposed =
        parsed.name ??
        uniqueName(
          suggestStepName(name) || `step_${props.cellIndex}`,
          props.stepNames
        );
      setName(proposed);
      props.onChange({ kind, name: proposed, prev: parsed.prev });
    } else {
      props.onChange({ kind, name: null, prev: [] });
    }
  };
  const commitName = () => {
    const trimmed = name.trim();
    if (trimmed === (parsed.name ?? '')) {
      setError(null);
      return;
    }
    const problem = validateStepName(trimmed);
    if (problem) {
      setError(problem);
      return;
    }
    setError(null);
    props.onChange({ kind: 'step', name: trimmed, prev: parsed.prev });
  };
  const color = assignment?.step ? props.colorOf(assignment.step) : undefined;

  return (
    <div
      className="jp-Kale-stepEditor"
      data-testid="kale-step-editor"
      data-kind={parsed.kind}
      data-role={assignment?.role ?? ''}
      data-step={assignment?.step ?? ''}
    >
      <div className="jp-Kale-stepEditorRow">
        <span
          className="jp-Kale-swatch"
          style={color ? { background: color } : undefined}
          aria-hidden="true"
        />
        <select
          className="jp-Kale-kindSelect"
          aria-label="Cell kind"
          value={parsed.kind}
          onChange={ev => setKind(ev.target.value as CellKind)}
        >
          {CELL_KINDS.map(k => (
            <option key={k.kind} value={k.kind}>
              {k.label}
            </option>
          ))}
        </select>
        {parsed.kind === 'step' && (
          <>
            <input
              className="jp-Kale-stepName"
              aria-label="Step name"
              list={listId}
              value={name}
              aria-invalid={error !== null}
              onChange={ev => setName(ev.target.value)}
              onBlur={commitName}
              onKeyDown={ev => {
                if (ev.key === 'Enter') {
                  ev.preventDefault();
                  commitName();
                } else if (ev.key === 'Escape') {
                  setName(parsed.name ?? '');
                  setError(null);
                }
                if (!ev.ctrlKey && !ev.metaKey && !ev.altKey) {
                  // Plain keys are typing, not notebook shortcuts; Ctrl+S and friends still reach JupyterLab.
                  ev.stopPropagation();
                }
              }}
            />
            <datalist id={listId}>
              {others.map(n => (
                <option key={n} value={n} />
              ))}
            </datalist>
            <span className="jp-Kale-depsLabel">after</span>
            {parsed.prev.map(p => (
              <span
                key={p}
                className="jp-Kale-chip"
                style={{ borderColor: props.colorOf(p) }}
              >
                {p}
                <button
                  className="jp-Kale-chipRemove"
                  aria-label={`Remove dependency on ${p}`}
                  title={`Remove dependency on ${p}`}
                  onClick={() =>
                    props.onChange({
                      kind: 'step',
                      name: parsed.name,
                      prev: parsed.prev.filter(x => x !== p)
                    })
                  }
                >
                  ×
                </button>
              </span>
            ))}
            <select
              className="jp-Kale-addDep"
              aria-label="Add dependency"
              value=""
              onChange={ev => {
                if (ev.target.value) {
                  props.onChange({
                    kind: 'step',
                    name: parsed.name,
                    prev: [...parsed.prev, ev.target.value]
                  });
                }
              }}
            >
              <option value="">+ depends on…</option>
              {others
                .filter(n => !parsed.prev.includes(n))
                .map(n => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
            </select>
          </>
        )}
        {parsed.kind === 'none' && (
          <span className="jp-Kale-inherited" data-testid="kale-cell-role">
            {describeInherited(assignment)}
          </span>
        )}
      </div>
      {error && (
        <div className="jp-Kale-fieldError" role="alert">
          {error}
        </div>
      )}
      {props.diagnostics.length > 0 && (
        <ul
          className="jp-Kale-cellDiagnostics"
          data-testid="kale-cell-diagnostics"
        >
          {props.diagnostics.map((d, i) => (
            <li key={i} className={`jp-mod-${d.severity}`}>
              <button
                className="jp-Kale-linkButton"
                onClick={() => props.onJump(d)}
              >
                {d.severity}
                {d.line ? ` (line ${d.line})` : ''}: {d.message}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** What an untagged cell continues, in the server's words; empty until the analysis has answered for the cell. */
export function describeInherited(assignment: ICellAssignment | null): string {
  if (!assignment) {
    return '';
  }
  if (assignment.step) {
    return `continues step ${assignment.step}`;
  }
  if (assignment.role === 'skip') {
    return 'not in the pipeline (no step, imports, functions, parameters or metrics cell above)';
  }
  return `continues ${assignment.role}`;
}

function uniqueName(base: string, taken: readonly string[]): string {
  let candidate = base;
  let i = 2;
  while (taken.includes(candidate)) {
    candidate = `${base}_${i++}`;
  }
  return candidate;
}

/** The Lumino host of one cell's step editor. */
export class StepEditorWidget extends ReactWidget {
  constructor(
    readonly cellModel: ICellModel,
    private readonly pipeline: NotebookPipeline,
    private readonly jump: (d: IDiagnostic) => void
  ) {
    super();
    this.addClass('jp-Kale-stepEditorHost');
  }

  props: Omit<IStepEditorProps, 'onChange' | 'onJump'> | null = null;

  protected render(): JSX.Element | null {
    if (!this.props) {
      return null;
    }
    return (
      <StepEditorView
        {...this.props}
        onChange={next => this.pipeline.editCell(this.cellModel, next)}
        onJump={this.jump}
      />
    );
  }
}
