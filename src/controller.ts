/**
 * Connects JupyterLab to the pipeline models: one NotebookPipeline and its CellDecorations per open notebook, the
 * current notebook for the sidebar, and the user's settings (schema/plugin.json). No React here.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';

import { analyzeNotebook } from './api/client';
import { KaleSettings } from './api/settings';
import { NotebookPipeline } from './model/notebook-pipeline';
import { CellDecorations, jumpToCell } from './widgets/cell-decorations';
import { DagPanel } from './widgets/DagPanel';

/** The user's settings with every default filled in (the type is generated from schema/plugin.json). */
export type IKaleSettings = Required<KaleSettings>;

/** The id of the Models panel in the left sidebar. */
export const MODELS_PANEL_ID = 'kale-ext-models';

export const DEFAULT_SETTINGS: IKaleSettings = {
  analysisDelay: 250,
  maxParallel: null,
  useCache: true,
  failFast: false,
  pollInterval: 1000
};

export class PipelineController {
  constructor(
    private readonly app: JupyterFrontEnd,
    readonly tracker: INotebookTracker
  ) {
    tracker.widgetAdded.connect((_, panel) => this._attach(panel));
    tracker.forEach(panel => this._attach(panel));
    tracker.currentChanged.connect(() => this._currentChanged.emit());
  }

  get settings(): IKaleSettings {
    return this._settings;
  }

  /** Emitted when the current notebook changes. */
  get currentChanged(): ISignal<this, void> {
    return this._currentChanged;
  }

  get settingsChanged(): ISignal<this, void> {
    return this._settingsChanged;
  }

  /** Emitted when a model was deployed, promoted, rolled back or stopped from the sidebar: the Models panel reloads. */
  get modelsChanged(): ISignal<this, void> {
    return this._modelsChanged;
  }

  notifyModelsChanged(): void {
    this._modelsChanged.emit();
  }

  /** Bring the Models panel to the front of the left sidebar. */
  showModels(): void {
    this.app.shell.activateById(MODELS_PANEL_ID);
  }

  /**
   * Open a step's exploration notebook (a path relative to the server root) with the notebook factory, wait for its
   * kernel, and run its load cell (the first code cell), so the step's inputs are in the kernel at once.
   */
  async openExploration(path: string): Promise<NotebookPanel> {
    const panel = (await this.app.commands.execute('docmanager:open', {
      path,
      factory: 'Notebook'
    })) as NotebookPanel;
    await panel.context.ready;
    await panel.sessionContext.ready;
    const notebook = panel.content;
    // The cell marked as the load cell, else the first code cell.
    const cells = Array.from(panel.context.model.cells);
    let index = cells.findIndex(
      cell => cell.getMetadata('kale_ext_explore') === 'load'
    );
    if (index < 0) {
      index = cells.findIndex(cell => cell.type === 'code');
    }
    if (index >= 0) {
      notebook.activeCellIndex = index;
      notebook.deselectAll();
      await NotebookActions.run(notebook, panel.sessionContext);
    }
    return panel;
  }

  /** The pipeline of the notebook the user works on, if any. */
  get current(): NotebookPipeline | null {
    const panel = this.tracker.currentWidget;
    if (!panel || panel.isDisposed) {
      return null;
    }
    // currentChanged may fire before widgetAdded: attach on first sight.
    return this._pipelines.get(panel) ?? this._attach(panel);
  }

  loadSettings(settings: ISettingRegistry.ISettings): void {
    const read = () => {
      const c = settings.composite as KaleSettings;
      this._settings = { ...DEFAULT_SETTINGS, ...stripNullish(c) };
      this._settings.maxParallel = (c.maxParallel ?? null) as number | null;
      for (const p of this._pipelines.values()) {
        p.setDelay(this._settings.analysisDelay);
      }
      this._settingsChanged.emit();
    };
    read();
    settings.changed.connect(read);
  }

  /** Bring a notebook to the front and put the cursor on a cell's line. */
  async jump(
    pipeline: NotebookPipeline,
    cell: number,
    line: number | null
  ): Promise<void> {
    this.app.shell.activateById(pipeline.panel.id);
    await jumpToCell(pipeline.panel, cell, line);
  }

  /**
   * Show a notebook's DAG full size in the main area, beside the notebook: one tab per notebook (opening it again
   * brings the open one to the front), closed with the notebook.
   */
  openDag(pipeline: NotebookPipeline): DagPanel {
    let widget = this._dags.get(pipeline);
    if (!widget || widget.isDisposed) {
      const created = new DagPanel(pipeline, (cell, line) => {
        void this.jump(pipeline, cell, line);
      });
      created.disposed.connect(() => {
        if (this._dags.get(pipeline) === created) {
          this._dags.delete(pipeline);
        }
      });
      this._dags.set(pipeline, created);
      this.app.shell.add(created, 'main', {
        mode: 'split-right',
        ref: pipeline.panel.id
      });
      widget = created;
    }
    this.app.shell.activateById(widget.id);
    return widget;
  }

  private _attach(panel: NotebookPanel): NotebookPipeline {
    const existing = this._pipelines.get(panel);
    if (existing) {
      return existing;
    }
    const pipeline = new NotebookPipeline(
      panel,
      analyzeNotebook,
      this._settings.analysisDelay
    );
    this._pipelines.set(panel, pipeline);
    let decorations: CellDecorations | null = null;
    panel.context.ready.then(() => {
      if (!pipeline.isDisposed) {
        decorations = new CellDecorations(panel, pipeline);
      }
    });
    panel.disposed.connect(() => {
      this._dags.get(pipeline)?.dispose();
      decorations?.dispose();
      pipeline.dispose();
      this._pipelines.delete(panel);
      this._currentChanged.emit();
    });
    return pipeline;
  }

  private _settings: IKaleSettings = { ...DEFAULT_SETTINGS };
  private _pipelines = new Map<NotebookPanel, NotebookPipeline>();
  private _dags = new Map<NotebookPipeline, DagPanel>();
  private _currentChanged = new Signal<this, void>(this);
  private _settingsChanged = new Signal<this, void>(this);
  private _modelsChanged = new Signal<this, void>(this);
}

function stripNullish<T extends object>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && v !== undefined) {
      (out as any)[k] = v;
    }
  }
  return out;
}
