/**
 * The pipeline state of one open notebook: its Pipeline mode (notebook metadata "kale_ext"), the tags of its cells,
 * and the latest analysis of the unsaved notebook (debounced POST /kale/v1/analyze), including the role and step of
 * every cell as the server assigned them. Every edit goes through the notebook model, so it is undoable and saved
 * with the notebook. No React here.
 */
import { ICellModel } from '@jupyterlab/cells';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { CellRoleName, IAnalysis, ICellRole } from '../api/types';
import { assignStepColors, colorLookup } from './colors';
import { debounce, IDebounced } from './debounce';
import {
  ICellTags,
  parseTags,
  renameStepInTags,
  stepNamesFromTags,
  writeTags
} from './tags';

/** The notebook metadata key of this extension (shared with kale_ext/notebook/metadata.py). */
export const METADATA_KEY = 'kale_ext';
export const METADATA_VERSION = 1;

export type AnalyzeFn = (notebook: unknown, path: string) => Promise<IAnalysis>;

export interface ICellInfo {
  model: ICellModel;
  type: string;
  tags: string[];
}

/** A cell's place in the pipeline, as the latest analysis answered it (what the step editor and cell border show). */
export interface ICellAssignment {
  role: CellRoleName;
  /** The step the cell's code runs in (its own or the one it continues), or null. */
  step: string | null;
  /** True for a code cell without a kind tag of its own: it continues the tagged cell above it. */
  inherited: boolean;
}

export class NotebookPipeline implements IDisposable {
  constructor(
    readonly panel: NotebookPanel,
    private readonly analyzeFn: AnalyzeFn,
    delay: number
  ) {
    this._debounced = debounce(() => void this._analyze(), delay);
    const model = this.model;
    if (model) {
      this._connectModel(model);
    } else {
      panel.context.ready.then(() => {
        if (!this._disposed && this.model) {
          this._connectModel(this.model);
          this._changed.emit();
        }
      });
    }
  }

  /** Emitted whenever tags, Pipeline mode, or the analysis change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get model(): INotebookModel | null {
    return this.panel.context.model ?? null;
  }

  get path(): string {
    return this.panel.context.path;
  }

  get analysis(): IAnalysis | null {
    return this._analysis;
  }

  /** The message of the last failed analysis, or null. */
  get error(): string | null {
    return this._error;
  }

  get analyzing(): boolean {
    return this._inFlight > 0;
  }

  /** The performance.now() of the last analysis result. */
  get analyzedAt(): number {
    return this._analyzedAt;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  get pipelineMode(): boolean {
    const meta = this.model?.getMetadata(METADATA_KEY);
    return !!(meta && typeof meta === 'object' && meta.pipeline_mode);
  }

  /** Turn Pipeline mode on or off, keeping the other keys of the notebook's "kale_ext" metadata. */
  setPipelineMode(on: boolean): void {
    const model = this.model;
    if (!model) {
      return;
    }
    const meta = model.getMetadata(METADATA_KEY);
    const base = meta && typeof meta === 'object' ? { ...meta } : {};
    model.setMetadata(METADATA_KEY, {
      ...base,
      version: METADATA_VERSION,
      pipeline_mode: on
    });
  }

  setDelay(ms: number): void {
    this._debounced.setDelay(ms);
  }

  cells(): ICellInfo[] {
    const model = this.model;
    if (!model) {
      return [];
    }
    const out: ICellInfo[] = [];
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      const tags = cell.getMetadata('tags');
      out.push({
        model: cell,
        type: cell.type,
        tags: Array.isArray(tags) ? tags.filter(t => typeof t === 'string') : []
      });
    }
    return out;
  }

  /**
   * Per cell: its role and step from the latest analysis, or null for a cell the analysis has not seen yet (before
   * the first answer, or a cell inserted since): no role is shown rather than one guessed from tags. Cells are matched
   * by identity with the cells that analysis was sent, so inserting or moving cells never shifts roles onto others.
   */
  assignments(): Array<ICellAssignment | null> {
    return this.cells().map(cell => {
      const answer = this._roles.get(cell.model);
      if (!answer) {
        return null;
      }
      return {
        role: answer.role,
        step: answer.step,
        inherited: cell.type === 'code' && parseTags(cell.tags).kind === 'none'
      };
    });
  }

  /** Step names declared by tags, then any further names the last analysis knows. */
  stepNames(): string[] {
    const names = stepNamesFromTags(this.cells().map(c => c.tags));
    for (const s of this._analysis?.steps ?? []) {
      if (!names.includes(s.name)) {
        names.push(s.name);
      }
    }
    return names;
  }

  /** The color of each step of this notebook (see model/colors.ts). */
  colorOf(): (name: string) => string {
    return colorLookup(assignStepColors(this.stepNames()));
  }

  /**
   * Write a cell's pipeline tags. Renaming a step also renames it in every other cell that names it: the step's other
   * step:/block: cells (a step may be tagged on several cells) and the prev: tags of the steps after it.
   * Each cell's change is its own undoable cell transaction: JupyterLab keeps one undo history per cell by default,
   * and only transactions whose origin is the cell are recorded there. Analysis runs at once rather than after the typing delay: a tag edit is a
   * discrete action.
   */
  editCell(cell: ICellModel, next: ICellTags): void {
    const model = this.model;
    if (!model) {
      return;
    }
    const raw = cell.getMetadata('tags');
    const original: unknown[] = Array.isArray(raw) ? raw : [];
    const before = parseTags(original);
    const tags = writeTags(original, next);
    const renamed =
      before.kind === 'step' &&
      next.kind === 'step' &&
      before.name &&
      next.name &&
      before.name !== next.name
        ? { from: before.name, to: next.name }
        : null;
    setTags(cell, tags);
    if (renamed) {
      for (const other of this.cells()) {
        if (other.model === cell) {
          continue;
        }
        const updated = renameStepInTags(other.tags, renamed.from, renamed.to);
        if (updated) {
          setTags(other.model, updated);
        }
      }
    }
    this.requestAnalysis(true);
  }

  /** Schedule an analysis; immediate skips the typing delay. */
  requestAnalysis(immediate = false): void {
    this._debounced();
    if (immediate) {
      this._debounced.flush();
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._debounced.cancel();
    const model = this.model;
    if (model) {
      model.contentChanged.disconnect(this._onContent, this);
      model.metadataChanged.disconnect(this._onNotebookMetadata, this);
      model.cells.changed.disconnect(this._onCellsChanged, this);
    }
    for (const cell of this._watched) {
      cell.metadataChanged.disconnect(this._onCellMetadata, this);
    }
    this._watched.clear();
    Signal.clearData(this);
  }

  private _connectModel(model: INotebookModel): void {
    model.contentChanged.connect(this._onContent, this);
    model.metadataChanged.connect(this._onNotebookMetadata, this);
    model.cells.changed.connect(this._onCellsChanged, this);
    this._watchCells();
    this.requestAnalysis(true);
  }

  private _watchCells(): void {
    const model = this.model;
    if (!model) {
      return;
    }
    const present = new Set<ICellModel>();
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      present.add(cell);
      if (!this._watched.has(cell)) {
        cell.metadataChanged.connect(this._onCellMetadata, this);
        this._watched.add(cell);
      }
    }
    for (const cell of [...this._watched]) {
      if (!present.has(cell)) {
        cell.metadataChanged.disconnect(this._onCellMetadata, this);
        this._watched.delete(cell);
      }
    }
  }

  private _onContent(): void {
    this._debounced();
  }

  private _onCellsChanged(): void {
    this._watchCells();
    this._changed.emit();
    this._debounced();
  }

  private _onCellMetadata(_: ICellModel, change: { key: string }): void {
    if (change.key === 'tags') {
      this._changed.emit();
      this._debounced();
    }
  }

  private _onNotebookMetadata(_: unknown, change: { key: string }): void {
    if (change.key === METADATA_KEY) {
      this._changed.emit();
    }
    this._debounced();
  }

  private async _analyze(): Promise<void> {
    const model = this.model;
    if (!model || this._disposed) {
      return;
    }
    const seq = ++this._seq;
    this._inFlight++;
    this._changed.emit();
    const sent = this.cells().map(c => c.model);
    try {
      const analysis = await this.analyzeFn(model.toJSON(), this.path);
      if (seq > this._applied && !this._disposed) {
        this._applied = seq;
        this._analysis = analysis;
        this._roles = rolesByCell(sent, analysis.cells ?? []);
        this._error = null;
        this._analyzedAt = performance.now();
      }
    } catch (error) {
      if (seq > this._applied && !this._disposed) {
        this._applied = seq;
        this._error = String((error as Error).message ?? error);
      }
    } finally {
      this._inFlight--;
      if (!this._disposed) {
        this._changed.emit();
      }
    }
  }

  private _debounced: IDebounced;
  private _changed = new Signal<this, void>(this);
  private _analysis: IAnalysis | null = null;
  private _roles = new Map<ICellModel, ICellRole>();
  private _error: string | null = null;
  private _analyzedAt = 0;
  private _seq = 0;
  private _applied = 0;
  private _inFlight = 0;
  private _disposed = false;
  private _watched = new Set<ICellModel>();
}

/** The analysis' roles keyed by the cell models that analysis was sent (cells[i] is the notebook's cell i). */
function rolesByCell(
  cells: readonly ICellModel[],
  roles: readonly ICellRole[]
): Map<ICellModel, ICellRole> {
  const out = new Map<ICellModel, ICellRole>();
  for (const role of roles) {
    const cell = cells[role.index];
    if (cell) {
      out.set(cell, role);
    }
  }
  return out;
}

/**
 * Set a cell's tags as an undoable edit of that cell. JupyterLab's setMetadata records its change as not undoable
 * (@jupyter/ydoc's YCell.setMetadata transacts with undoable=false); wrapping it in the cell's own undoable
 * transaction puts the tag edit in the cell's undo history (Ctrl+Z in the cell), or in the notebook's when
 * document-wide undo is on.
 */
function setTags(cell: ICellModel, tags: string[]): void {
  cell.sharedModel.transact(() => {
    if (tags.length > 0) {
      cell.setMetadata('tags', tags);
    } else {
      cell.deleteMetadata('tags');
    }
  }, true);
}
