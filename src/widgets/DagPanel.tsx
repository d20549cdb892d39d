/**
 * A notebook's live DAG: NotebookDag (the graph of the notebook's current analysis, its nodes jump to their cells),
 * shown in the sidebar, and DagPanel, the same graph full size in a main-area tab (one per notebook, opened from the
 * sidebar DAG's toolbar, closed with its tab or with the notebook).
 */
import { runIcon, ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import React, { useMemo } from 'react';

import { buildEdges } from '../model/dag';
import { NotebookPipeline } from '../model/notebook-pipeline';
import { DagView } from './DagView';
import { useSignals } from './hooks';

export type JumpToCell = (cell: number, line: number | null) => void;

/** Lumino's message type, named through Widget (@lumino/messaging is no dependency of its own). */
type LuminoMessage = Parameters<Widget['processMessage']>[0];

/** The DAG of a notebook's latest analysis; re-renders as the notebook is edited and re-analysed. */
export function NotebookDag(props: {
  pipeline: NotebookPipeline;
  onJump: JumpToCell;
  testId: string;
  onOpenFull?: () => void;
  full?: boolean;
}): JSX.Element | null {
  const { pipeline, onJump } = props;
  useSignals([pipeline.changed]);
  const analysis = pipeline.analysis;
  const names = useMemo(
    () => analysis?.steps.map(s => s.name) ?? [],
    [analysis]
  );
  const edges = useMemo(() => buildEdges(analysis?.steps ?? []), [analysis]);
  if (!analysis) {
    return null;
  }
  return (
    <DagView
      names={names}
      edges={edges}
      since={pipeline.analyzedAt}
      label="Pipeline DAG"
      colorOf={pipeline.colorOf()}
      testId={props.testId}
      onOpenFull={props.onOpenFull}
      full={props.full}
      onSelect={step => {
        const s = analysis.steps.find(x => x.name === step);
        if (s && s.cells.length) {
          onJump(s.cells[0], null);
        }
      }}
    />
  );
}

function DagPanelView(props: {
  pipeline: NotebookPipeline;
  onJump: JumpToCell;
}): JSX.Element {
  const { pipeline } = props;
  useSignals([pipeline.changed]);
  return (
    <>
      <header className="jp-Kale-dagPanelHeader">
        <h2>{pipeline.analysis?.pipeline.name ?? baseName(pipeline.path)}</h2>
        <span className="jp-Kale-analysisState" aria-live="polite">
          {pipeline.analyzing ? 'analyzing…' : ''}
        </span>
      </header>
      {pipeline.error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          Analysis failed: {pipeline.error}
        </p>
      )}
      <NotebookDag
        pipeline={pipeline}
        onJump={props.onJump}
        testId="kale-dag-full"
        full
      />
    </>
  );
}

/** The full-size DAG of one notebook, in a closable main-area tab. */
export class DagPanel extends ReactWidget {
  constructor(
    readonly pipeline: NotebookPipeline,
    private readonly onJump: JumpToCell
  ) {
    super();
    this.id = `kale-dag-${pipeline.panel.id}`;
    this.addClass('jp-Kale-dagPanel');
    this.node.dataset.testid = 'kale-dag-panel';
    this.title.icon = runIcon;
    this.title.closable = true;
    this._retitle();
    pipeline.panel.context.pathChanged.connect(this._retitle, this);
  }

  dispose(): void {
    if (!this.isDisposed) {
      this.pipeline.panel.context.pathChanged.disconnect(this._retitle, this);
    }
    super.dispose();
  }

  /** Closing the tab disposes the view (a plain Lumino widget would only be detached, and could not be reopened). */
  protected onCloseRequest(msg: LuminoMessage): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  protected render(): JSX.Element {
    return <DagPanelView pipeline={this.pipeline} onJump={this.onJump} />;
  }

  private _retitle(): void {
    const name = baseName(this.pipeline.path);
    this.title.label = `${name} (DAG)`;
    this.title.caption = `The pipeline DAG of ${this.pipeline.path}`;
  }
}

function baseName(path: string): string {
  return path.split('/').pop() ?? path;
}
