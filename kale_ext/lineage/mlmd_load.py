"""Load an MLMD LineageGraph file (``kale-ext lineage RUN_ID --mlmd FILE``) into an ML Metadata store.

    python mlmd_load.py FILE.json SQLITE_FILE     # with an interpreter that has ml-metadata installed

ml-metadata pins protobuf < 5, which kale-ext's own environment (kfp) cannot share, so this file imports nothing of
kale_ext and runs under any interpreter with ``pip install ml-metadata``. It parses the file strictly with the real
proto messages (``json_format.Parse`` into ``metadata_store_pb2.LineageGraph``: an unknown field or a wrong type is an
error), puts the types, contexts (with their parent), artifacts, executions, events, attributions and associations
into the store, mapping the file's ids to the ids the store assigns, and prints a JSON summary read back from the
store: {"contexts", "executions": {name: {"state", "inputs", "outputs"}}, "artifacts": {name: uri}}.
"""

from __future__ import annotations

import json
import sys


def load(text: str, sqlite_file: str) -> dict:
    from google.protobuf import json_format
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    graph = json_format.Parse(text, pb.LineageGraph())
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = sqlite_file
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(config)

    types = {}
    for t in graph.artifact_types:
        types[("a", t.id)] = store.put_artifact_type(_without_id(t), can_add_fields=True)
    for t in graph.execution_types:
        types[("e", t.id)] = store.put_execution_type(_without_id(t), can_add_fields=True)
    for t in graph.context_types:
        types[("c", t.id)] = store.put_context_type(_without_id(t), can_add_fields=True)

    contexts = _put(graph.contexts, "c", types, store.put_contexts)
    artifacts = _put(graph.artifacts, "a", types, store.put_artifacts)
    executions = _put(graph.executions, "e", types, store.put_executions)
    store.put_parent_contexts(
        [
            pb.ParentContext(child_id=contexts[p.child_id], parent_id=contexts[p.parent_id])
            for p in graph.parent_contexts
        ]
    )
    events = []
    for e in graph.events:
        event = pb.Event()
        event.CopyFrom(e)
        event.artifact_id, event.execution_id = artifacts[e.artifact_id], executions[e.execution_id]
        events.append(event)
    store.put_events(events)
    store.put_attributions_and_associations(
        [
            pb.Attribution(artifact_id=artifacts[a.artifact_id], context_id=contexts[a.context_id])
            for a in graph.attributions
        ],
        [
            pb.Association(execution_id=executions[a.execution_id], context_id=contexts[a.context_id])
            for a in graph.associations
        ],
    )
    return summary(store, pb)


def _without_id(message):
    copy = type(message)()
    copy.CopyFrom(message)
    copy.ClearField("id")
    return copy


def _put(items, kind, types, put) -> dict:
    """Put the nodes with the store's type ids; answers {file id: store id}."""
    fresh = []
    for item in items:
        node = _without_id(item)
        node.type_id = types[(kind, item.type_id)]
        node.ClearField("type")  # the store fills it from type_id
        fresh.append(node)
    return dict(zip([i.id for i in items], put(fresh), strict=True)) if fresh else {}


def summary(store, pb) -> dict:
    """What the store now holds, read back through its own queries."""
    names = {a.id: a.name for a in store.get_artifacts()}
    out = {"contexts": sorted(c.name for c in store.get_contexts()), "executions": {}, "artifacts": {}}
    for a in store.get_artifacts():
        out["artifacts"][a.name] = {"uri": a.uri, "type": a.type, "hash": a.properties["hash"].string_value}
    executions = store.get_executions()
    events = store.get_events_by_execution_ids([e.id for e in executions])
    for e in executions:
        mine = [ev for ev in events if ev.execution_id == e.id]
        out["executions"][e.name] = {
            "state": pb.Execution.State.Name(e.last_known_state),
            "type": e.type,
            "properties": {k: v.string_value for k, v in e.properties.items()},
            "inputs": sorted((ev.path.steps[0].key, names[ev.artifact_id]) for ev in mine if ev.type == pb.Event.INPUT),
            "outputs": sorted(
                (ev.path.steps[0].key, names[ev.artifact_id]) for ev in mine if ev.type == pb.Event.OUTPUT
            ),
        }
    for c in store.get_contexts():
        out.setdefault("context_sizes", {})[c.name] = {
            "executions": len(store.get_executions_by_context(c.id)),
            "artifacts": len(store.get_artifacts_by_context(c.id)),
        }
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python mlmd_load.py LINEAGE.json SQLITE_FILE\n")
        return 2
    with open(argv[0], encoding="utf-8") as f:
        text = f.read()
    json.dump(load(text, argv[1]), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
