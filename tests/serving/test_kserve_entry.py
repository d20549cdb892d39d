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


def test_transformer_refused_by_a_server_without_the_mode(tmp_path, capsys):
    d = model_dir(tmp_path)
    argv = ["--transformer", "--model_dir", str(d), "--predictor_host", "p.ns"]
    assert main(argv, serve=lambda state_path, host, port: None) == 2
    assert "transformer mode" in capsys.readouterr().err


def test_not_a_model_directory(tmp_path, capsys):
    assert main(["--model_dir", str(tmp_path)], serve=lambda *a: None) == 2
    assert "kale-model.json" in capsys.readouterr().err
