import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { runIcon } from '@jupyterlab/ui-components';

import { PipelinePanel } from './widgets/PipelinePanel';

const PLUGIN_ID = 'kale_ext:plugin';

/** The kale-ext sidebar: tag cells as pipeline steps, see the DAG, deploy and review runs. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Turn a tagged notebook into a pipeline: analyze it, run it locally, review its runs.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const panel = new PipelinePanel();
    panel.id = 'kale-ext-panel';
    panel.title.icon = runIcon;
    panel.title.caption = 'Pipeline';
    app.shell.add(panel, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(panel, 'kale-ext-panel');
    }
    if (settingRegistry) {
      settingRegistry.load(PLUGIN_ID).catch(reason => {
        console.error('kale_ext: failed to load settings.', reason);
      });
    }
  }
};

export default plugin;
