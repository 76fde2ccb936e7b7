"""The run artifact's sample of a published snapshot."""

from recsys_core.publishing.sample import outputs_sample
from tests.core.test_outputs import SMALL, _run


def test_the_sample_shows_users_similar_items_and_the_fallback(synthetic_adjacency, tmp_path):
    done = _run(synthetic_adjacency, tmp_path)
    sample = outputs_sample(done["publish"]["snapshot"], users=2, items=2, similar=3)
    assert len({row["user_id"] for row in sample["users"]}) == 2
    assert len(sample["users"]) == 2 * SMALL.rank.top_k
    assert len(sample["similar items"]) == 2 * 3
    assert [row["rank"] for row in sample["fallback"]] == list(range(1, SMALL.rank.top_k + 1))
