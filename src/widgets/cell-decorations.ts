/**
 * What Pipeline mode adds to a notebook's cells: the step editor above each code cell, the color of the step the
 * analysis put the cell in on the cell's border (none until the analysis has answered for the cell), and a mark on
 * cells with diagnostics. Driven by NotebookPipeline.changed; removes everything when Pipeline mode is turned off or
 * the notebook closes.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { PanelLayout } from '@lumino/widgets';

import { IDiagnostic } from '../api/types';
import { NotebookPipeline } from '../model/notebook-pipeline';
import { StepEditorWidget } from './StepEditor';

const MODE_CLASS = 'jp-Kale-pipelineMode';
const STEP_CELL_CLASS = 'jp-Kale-stepCell';
const DIAG_CLASS = 'jp-Kale-cellHasDiagnostics';
const COLOR_VAR = '--jp-Kale-step-color';

/** Group diagnostics by 0-based cell index. */
export function diagnosticsByCell(
  diagnostics: readonly IDiagnostic[]
): Map<number, IDiagnostic[]> {
  const out = new Map<number, IDiagnostic[]>();
  for (const d of diagnostics) {
    if (typeof d.cell === 'number') {
      const list = out.get(d.cell) ?? [];
      list.push(d);
      out.set(d.cell, list);
    }
  }
  return out;
}

/** Select a cell, scroll to it and put the cursor on a 1-based line. */
export async function jumpToCell(
  panel: NotebookPanel,
  cellIndex: number,
  line: number | null
): Promise<void> {
  const notebook = panel.content;
  const cell = notebook.widgets[cellIndex];
  if (!cell) {
    return;
  }
  notebook.activeCellIndex = cellIndex;
  notebook.deselectAll();
  await notebook.scrollToCell(cell, 'center');
  if (line !== null && cell.editor && cell.model.type === 'code') {
    notebook.mode = 'edit';
    const lineCount = cell.editor.lineCount;
    const target = Math.max(0, Math.min(line - 1, lineCount - 1));
    cell.editor.setCursorPosition({ line: target, column: 0 });
    cell.editor.focus();
  } else {
    notebook.node.focus();
  }
}

export class CellDecorations implements IDisposable {
  constructor(
    private readonly panel: NotebookPanel,
    private readonly pipeline: NotebookPipeline
  ) {
    pipeline.changed.connect(this._schedule, this);
    panel.content.model?.cells.changed.connect(this._schedule, this);
    this._schedule();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.pipeline.changed.disconnect(this._schedule, this);
    this.panel.content.model?.cells.changed.disconnect(this._schedule, this);
    if (this._frame !== null) {
      cancelAnimationFrame(this._frame);
    }
    this._clear();
  }

  /** Apply the current state now (tests and the benchmark call this through the scheduler). */
  update(): void {
    this._frame = null;
    if (this._disposed || this.panel.isDisposed) {
      return;
    }
    const on = this.pipeline.pipelineMode;
    const notebook = this.panel.content;
    notebook.node.classList.toggle(MODE_CLASS, on);
    if (!on) {
      this._clear();
      return;
    }
    const infos = this.pipeline.cells();
    const assignments = this.pipeline.assignments();
    const stepNames = this.pipeline.stepNames();
    const colorOf = this.pipeline.colorOf();
    const diags = diagnosticsByCell(this.pipeline.analysis?.diagnostics ?? []);
    const live = new Set<Cell>();
    notebook.widgets.forEach((cell, i) => {
      const info = infos[i];
      const assignment = assignments[i] ?? null;
      if (!info || info.model !== cell.model) {
        return;
      }
      live.add(cell);
      const step = assignment?.step ?? null;
      cell.node.classList.toggle(STEP_CELL_CLASS, step !== null);
      if (step !== null) {
        cell.node.style.setProperty(COLOR_VAR, colorOf(step));
      } else {
        cell.node.style.removeProperty(COLOR_VAR);
      }
      const cellDiags = diags.get(i) ?? [];
      cell.node.classList.toggle(
        DIAG_CLASS,
        cellDiags.some(d => d.severity !== 'info')
      );
      if (info.type !== 'code') {
        this._removeEditor(cell);
        return;
      }
      let editor = this._editors.get(cell);
      if (!editor || editor.cellModel !== cell.model) {
        this._removeEditor(cell);
        editor = new StepEditorWidget(
          cell.model,
          this.pipeline,
          d => void jumpToCell(this.panel, d.cell ?? i, d.line)
        );
        (cell.layout as PanelLayout).insertWidget(1, editor);
        this._editors.set(cell, editor);
      }
      editor.props = {
        tags: info.tags,
        assignment,
        stepNames,
        colorOf,
        diagnostics: cellDiags,
        cellIndex: i
      };
      editor.update();
    });
    for (const cell of [...this._editors.keys()]) {
      if (!live.has(cell)) {
        this._removeEditor(cell);
      }
    }
  }

  private _schedule(): void {
    if (this._frame === null && !this._disposed) {
      this._frame = requestAnimationFrame(() => this.update());
    }
  }

  private _removeEditor(cell: Cell): void {
    const editor = this._editors.get(cell);
    if (editor) {
      editor.dispose();
      this._editors.delete(cell);
    }
  }

  private _clear(): void {
    for (const cell of [...this._editors.keys()]) {
      this._removeEditor(cell);
    }
    if (!this.panel.isDisposed) {
      this.panel.content.node.classList.remove(MODE_CLASS);
      for (const cell of this.panel.content.widgets) {
        cell.node.classList.remove(STEP_CELL_CLASS, DIAG_CLASS);
        cell.node.style.removeProperty(COLOR_VAR);
      }
    }
  }

  private _editors = new Map<Cell, StepEditorWidget>();
  private _frame: number | null = null;
  private _disposed = false;
}
