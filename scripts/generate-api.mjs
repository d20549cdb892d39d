// Generate the TypeScript types of the REST contract and of the user settings from their JSON Schemas:
//   kale_ext/api/api.schema.json (exported by `python -m kale_ext.api.schema`) -> src/api/generated.ts
//   schema/plugin.json (the Settings Editor's schema)                           -> src/api/settings.ts
// with json-schema-to-typescript, formatted with the project's prettier config so the output is deterministic; the
// schema itself is prettier-formatted in place too. Run through scripts/generate-api.sh (`jlpm build:api`); CI
// regenerates and fails on a difference. `--schema FILE --out DIR` generates from another schema into another folder
// (tests/api/test_schema.py uses it to compare with the committed files) and leaves the tree alone.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { compile } = require('json-schema-to-typescript');
const prettier = require('prettier');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { schema: { type: 'string' }, out: { type: 'string' } }
});
const inTree = args.schema === undefined && args.out === undefined;
const apiSchemaFile = resolve(args.schema ?? join(root, 'kale_ext', 'api', 'api.schema.json'));
const outDir = resolve(args.out ?? join(root, 'src', 'api'));

const banner = source =>
  `/**\n * Generated from ${source} by scripts/generate-api.sh: do not edit.\n` +
  ' * Change the source and run `jlpm build:api` instead.\n */\n/* eslint-disable */';

const options = source => ({
  bannerComment: banner(source),
  additionalProperties: false, // structs are closed unless the schema says otherwise
  unknownAny: true,
  format: false,
  cwd: root
});

/** Format as the file would be in the tree (the project's prettier config, whatever folder it is written to). */
async function format(text, treeFile) {
  const config = (await prettier.resolveConfig(treeFile)) ?? {};
  return prettier.format(text, { ...config, filepath: treeFile });
}

async function generateApi() {
  const text = await readFile(apiSchemaFile, 'utf8');
  const schema = JSON.parse(text);
  const version = schema['x-api-version'];
  if (typeof version !== 'string') {
    throw new Error(`${apiSchemaFile} has no "x-api-version"`);
  }
  if (inTree) {
    await writeFile(apiSchemaFile, await format(text, apiSchemaFile));
  }
  let ts = await compile(schema, 'ApiBody', options('kale_ext/api/api.schema.json'));
  ts += '\n/** The REST API version this frontend speaks (kale_ext.api.API_VERSION). */\n';
  ts += `export const API_VERSION = ${JSON.stringify(version)};\n`;
  const treeFile = join(root, 'src', 'api', 'generated.ts');
  await writeFile(join(outDir, 'generated.ts'), await format(ts, treeFile));
}

async function generateSettings() {
  const schema = JSON.parse(await readFile(join(root, 'schema', 'plugin.json'), 'utf8'));
  // The Settings Editor shows the titles ("Kale pipelines", "Analysis delay (ms)"); the type is named for what it
  // is, and the properties keep their plain types (a title would make json2ts declare an alias for each).
  const properties = Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([key, prop]) => {
      const { title, ...rest } = prop; // eslint-disable-line no-unused-vars
      return [key, rest];
    })
  );
  const typed = { ...schema, title: 'KaleSettings', properties };
  const ts = await compile(typed, 'KaleSettings', options('schema/plugin.json'));
  const treeFile = join(root, 'src', 'api', 'settings.ts');
  await writeFile(join(outDir, 'settings.ts'), await format(ts, treeFile));
}

await generateApi();
await generateSettings();
