"""History: the table and plot from published snapshots, and churn between nights."""

import asyncio
import json

import pytest

from recsys_core.publishing.history import history_rows
from recsys_core.publishing.snapshot import read_manifest, read_metrics

SMALL = {"factors": 8, "iterations": 3, "top_k": 5, "max_metric_drop": 1.0}


@pytest.mark.slow
def test_history_table_plot_and_churn(prefect_harness, synthetic_adjacency, tmp_path, capsys):
    from prefect.client.orchestration import get_client

    from flows.nightly import main
    from flows.report import main as report

    out = tmp_path / "out"
    base = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
    nights = [("2026-11-18", 8), ("2026-11-19", 8), ("2026-11-20", 12), ("2026-11-21", 12)]
    for day, factors in nights:
        params = {**base, "run_date": day, "factors": factors, "keep_last": 3}
        assert main(["--params", json.dumps(params)]) == 0
    # Same model two nights running: identical lists. A new model: some churn.
    same, changed = (read_manifest(out / f"dt={d}")["churn"] for d in ("2026-11-19", "2026-11-20"))
    assert same["previous"] == "dt=2026-11-18" and same["mean_jaccard"] == 1.0
    assert same["first_item_changed"] == 0.0 and same["new_users"] == same["removed_users"] == 0
    assert changed["mean_jaccard"] < 1.0 and changed["common_users"] == 300

    rows = history_rows(out, last=10)
    # Every night published, the one retention removed (keep_last 3) included.
    assert [row["date"] for row in rows] == [day for day, _ in nights]
    assert [p.name for p in out.glob("dt=*")] != [] and not (out / "dt=2026-11-18").exists()
    assert history_rows(out, last=2) == rows[-2:]
    for row in rows[1:]:
        metrics = read_metrics(out / f"dt={row['date']}")
        assert row["ndcg@5"] == round(metrics["validation"]["ndcg@5"], 4)
        assert row["pop ndcg@5"] == round(metrics["popularity_validation"]["ndcg@5"], 4)
        assert row["users"] == 300 and row["run_s"] > 0
    assert rows[2]["jaccard"] == changed["mean_jaccard"]

    capsys.readouterr()
    assert report([str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(out / "_report" / "history.png")
    assert [line.split()[0] for line in printed[2:-1]] == [row["date"] for row in rows]
    png = (out / "_report" / "history.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000

    async def latest_artifacts():
        async with get_client() as client:
            return await client.read_latest_artifacts()

    history = {a.key: a for a in asyncio.run(latest_artifacts())}["nightly-history"]
    kept = [r["date"] for r in rows[-3:]]  # the artifact: the last keep_last nights
    assert [row["date"] for row in json.loads(history.data)] == kept
