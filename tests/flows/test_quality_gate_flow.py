"""The quality gate in the nightly flow: a refused candidate goes to _rejected/, the
published snapshot and _LATEST stay; force_publish publishes and the manifest says so."""

import json

import pytest

from recsys_core.publishing.snapshot import published_dates, read_manifest, verify_snapshot

SMALL = {"factors": 8, "iterations": 3, "top_k": 5}


@pytest.mark.slow
def test_a_drop_is_refused_kept_aside_and_forced_on_request(
    prefect_harness, synthetic_adjacency, tmp_path, capsys
):
    from prefect.client.orchestration import get_client

    from flows.nightly import main

    out = tmp_path / "out"
    base = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
    assert main(["--params", json.dumps({**base, "run_date": "2026-11-19"})]) == 0
    first = read_manifest(out / "dt=2026-11-19")
    assert first["quality_gate"]["passed"] and not first["quality_gate"]["forced"]
    assert first["quality_gate"]["skipped"] == ["drop check: no snapshot was published before"]
    # Make yesterday look far better than any model can be (its manifest rewritten to
    # match, as if it had been published so): tonight's is a >20 % drop.
    _rewrite_metrics(out / "dt=2026-11-19", 0.99, manifest_too=True)

    tonight = {**base, "run_date": "2026-11-20"}
    capsys.readouterr()
    assert main(["--params", json.dumps(tonight)]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "quality gate refused to publish" in error and "dropped more than 20%" in error
    assert published_dates(out) == ["dt=2026-11-19"]
    assert (out / "_LATEST").read_text() == "dt=2026-11-19\n"
    rejected = out / "_rejected" / "dt=2026-11-20"
    assert str(rejected) in error
    assert verify_snapshot(rejected)["quality_gate"]["passed"] is False

    assert main(["--params", json.dumps({**tonight, "force_publish": True})]) == 0
    forced = read_manifest(out / "dt=2026-11-20")
    assert forced["quality_gate"]["forced"] is True and forced["quality_gate"]["reasons"]
    assert (out / "_LATEST").read_text() == "dt=2026-11-20\n"

    async def gate_artifact():
        async with get_client() as client:
            return await client.read_latest_artifacts()

    import asyncio

    artifacts = {a.key: a for a in asyncio.run(gate_artifact())}
    assert "**Quality gate: forced**" in artifacts["quality-gate"].data

    # A previous _metrics.json changed after publishing (its manifest not) is not trusted:
    # the drop check is named as skipped, with the reason, and the night publishes.
    _rewrite_metrics(out / "dt=2026-11-20", 0.99, manifest_too=False)
    assert main(["--params", json.dumps({**base, "run_date": "2026-11-21"})]) == 0
    gate = read_manifest(out / "dt=2026-11-21")["quality_gate"]
    assert gate["passed"] and gate["previous"] is None
    [skipped] = gate["skipped"]
    assert skipped.startswith(f"drop check: {out / 'dt=2026-11-20'} is not trusted (")
    assert "_metrics.json: sha256 differs from the manifest" in skipped


def _rewrite_metrics(snapshot, ndcg: float, manifest_too: bool) -> None:
    """Set a published snapshot's validation ndcg@5; with ``manifest_too`` its manifest's
    sha256 and size follow, as if it had been published with that figure."""
    import hashlib

    metrics_file = snapshot / "_metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["validation"]["ndcg@5"] = ndcg
    data = json.dumps(metrics).encode()
    metrics_file.write_bytes(data)
    if manifest_too:
        manifest_file = snapshot / "_manifest.json"
        manifest = json.loads(manifest_file.read_text())
        manifest["files"]["_metrics.json"] = hashlib.sha256(data).hexdigest()
        manifest["sizes"]["_metrics.json"] = len(data)
        manifest_file.write_text(json.dumps(manifest))
