import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { runIcon } from '@jupyterlab/ui-components';

import { PipelineController } from './controller';
import { PipelinePanel } from './widgets/PipelinePanel';

const PLUGIN_ID = 'kale_ext:plugin';

/** The kale-ext sidebar: tag cells as pipeline steps, see the DAG, deploy and review runs. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Turn a tagged notebook into a pipeline: analyze it, run it locally, review its runs.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const controller = new PipelineController(app, tracker);
    const panel = new PipelinePanel(controller);
    panel.id = 'kale-ext-panel';
    panel.title.icon = runIcon;
    panel.title.caption = 'Pipeline';
    app.shell.add(panel, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(panel, 'kale-ext-panel');
    }
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => controller.loadSettings(settings))
        .catch(reason => {
          console.error('kale_ext: failed to load settings.', reason);
        });
    }
  }
};

export default plugin;
