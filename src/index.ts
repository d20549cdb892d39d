import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { launchIcon, runIcon } from '@jupyterlab/ui-components';

import { MODELS_PANEL_ID, PipelineController } from './controller';
import { ModelsPanel } from './widgets/ModelsView';
import { PipelinePanel } from './widgets/PipelinePanel';

const PLUGIN_ID = 'kale_ext:plugin';

/** The kale-ext sidebar: tag cells as pipeline steps, see the DAG, deploy and review runs; serve their models. */
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
    const models = new ModelsPanel(controller);
    models.id = MODELS_PANEL_ID;
    models.title.icon = launchIcon;
    models.title.caption = 'Models';
    app.shell.add(models, 'left', { rank: 901 });
    if (restorer) {
      restorer.add(panel, 'kale-ext-panel');
      restorer.add(models, MODELS_PANEL_ID);
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
