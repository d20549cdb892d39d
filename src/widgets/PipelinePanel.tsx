import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import { ServerStatus, checkServer } from '../version';

/** The body of the left-sidebar "Pipeline" panel. */
export function PipelinePanelView(props: {
  check: () => Promise<ServerStatus>;
}): JSX.Element {
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const refresh = useCallback(() => {
    setStatus(null);
    props.check().then(setStatus);
  }, [props.check]);
  useEffect(refresh, [refresh]);

  return (
    <div className="jp-Kale-panel">
      <header className="jp-Kale-panelHeader">
        <h2>Pipeline</h2>
      </header>
      <ServerStatusView status={status} onRetry={refresh} />
    </div>
  );
}

function ServerStatusView(props: {
  status: ServerStatus | null;
  onRetry: () => void;
}): JSX.Element {
  const { status, onRetry } = props;
  if (status === null) {
    return (
      <p className="jp-Kale-status" data-testid="kale-server-status">
        Connecting to the kale_ext server extension…
      </p>
    );
  }
  if (status.kind === 'ok') {
    return (
      <p className="jp-Kale-status jp-mod-ok" data-testid="kale-server-status">
        Server extension{' '}
        <span data-testid="kale-server-version">{status.info.version}</span>{' '}
        (API {status.info.api_version})
      </p>
    );
  }
  return (
    <div
      className="jp-Kale-status jp-mod-error"
      role="alert"
      data-testid="kale-server-status"
    >
      <p>{status.message}</p>
      <button className="jp-mod-styled jp-mod-accept" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}

/** The Lumino widget that hosts the panel in JupyterLab's left area. */
export class PipelinePanel extends ReactWidget {
  constructor() {
    super();
    this.addClass('jp-Kale-sidebar');
  }

  protected render(): JSX.Element {
    return <PipelinePanelView check={checkServer} />;
  }
}
