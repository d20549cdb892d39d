"""The container entry point: KServe's arguments (as its controller appends them) become a one-model serving state
handed to the server's serve(); a transformer needs a predictor host."""

from __future__ import annotations

import json

from kale_ext.serving.kserve_entry import main


def model_dir(tmp_path):
    d = tmp_path / "mnt-models"
    d.mkdir()
    (d / "kale-model.json").write_text(json.dumps({"kind": "pyfunc", "file": "model.pkl"}))
    return d


def test_predictor_serves_the_mounted_directory_as_version_1(tmp_path):
    calls = []

    def serve(state_path, host, port):
        calls.append((json.loads(open(state_path).read()), host, port))

    d = model_dir(tmp_path)
    argv = ["--model_name=iris", "--model_dir", str(d), "--http_port", "8080", "--workers", "2"]
    assert main(argv, serve=serve) == 0
    state, host, port = calls[0]
    assert state == {"models": {"iris": {"versions": {"1": {"model_dir": str(d)}}, "traffic": {"1": 100}}}}
    assert (host, port) == ("0.0.0.0", 8080)


def test_transformer_gets_the_predictor_host_and_protocol(tmp_path):
    calls = []

    def serve(state_path, host, port, *, predictor_host=None, protocol=None):
        calls.append((predictor_host, protocol))

    d = model_dir(tmp_path)
    base = ["--transformer", "--model_dir", str(d), "--host", "127.0.0.1"]
    appended = ["--model_name", "iris", "--predictor_host", "iris-predictor.ns", "--http_port", "8080"]
    assert main([*base, *appended, "--protocol", "v2"], serve=serve) == 0
    assert calls == [("iris-predictor.ns", "v2")]
    assert main(base, serve=serve) == 2  # no --predictor_host


def test_a_transformer_runs_preprocess_and_postprocess_around_the_remote_predictor(tmp_path, logreg, iris):
    """KServe's transformer component: the predictor (here our server with the bare model) is reached at its host;
    the transformer (our server with predictor_host) runs the notebook's functions around it, on V1 and V2."""
    import json as _json
    import urllib.request

    import numpy as np

    from kale_ext.serving.server import InferenceServer

    from .helpers import model_dir as write_model_dir
    from .helpers import write_state

    X, _ = iris
    predictor_dir = write_model_dir(str(tmp_path / "predictor"), logreg)
    code = "import numpy as np\ndef preprocess(instances):\n    return np.asarray([[r[k] for k in 'abcd'] for r in instances])\n"
    code += "def postprocess(predictions):\n    return ['class-%d' % p for p in predictions]\n"
    transformer_dir = write_model_dir(str(tmp_path / "transformer"), logreg, transformer=code)
    servers = []
    try:
        for folder, directory, extra in (("p", predictor_dir, {}), ("t", transformer_dir, None)):
            state = str(tmp_path / folder / "state.json")
            write_state(state, {"iris": {"versions": {"1": directory}}})
            if extra is None:
                extra = {"predictor_host": f"127.0.0.1:{servers[0].port}", "protocol": "v1"}
            server = InferenceServer(state, "127.0.0.1", 0, **extra)
            server.start_in_thread()
            servers.append(server)
        rows = [dict(zip("abcd", map(float, x), strict=True)) for x in X[:3]]
        body = _json.dumps({"instances": rows}).encode()
        url = f"http://127.0.0.1:{servers[1].port}/v1/models/iris:predict"
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            answer = _json.loads(r.read())
        assert answer == {"predictions": [f"class-{p}" for p in logreg.predict(np.asarray(X[:3]))]}
    finally:
        for server in servers:
            server.stop()


def test_not_a_model_directory(tmp_path, capsys):
    assert main(["--model_dir", str(tmp_path)], serve=lambda *a: None) == 2
    assert "kale-model.json" in capsys.readouterr().err
