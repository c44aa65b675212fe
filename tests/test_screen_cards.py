"""A screening card shows the de-duplication stage's merged view of its work, nothing else."""

from __future__ import annotations

from pathlib import Path

import scoping
from scoping import screen

SHOUTING = "PEER SUPPORT WORKERS IN MENTAL HEALTH SERVICES"
MIXED = "Peer support workers in mental health services"


def test_a_card_holds_the_merged_view_of_its_work(tmp_path: Path) -> None:
    review = scoping.init_review(tmp_path / "review")
    export = tmp_path / "two.csv"
    # one publication from two databases: the capitalised title comes first (lower record id);
    # the merged view prefers the title in mixed case, and the longer journal name
    export.write_text(
        "Title,Authors,Year,Journal,DOI\n"
        f'"{SHOUTING}","Repper, J.",2011,"J Ment Health",10.3109/09638237.2011.583947\n'
        f'"{MIXED}","Repper, J.",2011,"Journal of Mental Health",10.3109/09638237.2011.583947\n',
        encoding="utf-8",
    )
    review.import_files([export], source="X")
    review.dedupe()
    works = review.works()
    assert len(works) == 1, works
    merged = works.iloc[0]
    with review.open_store() as store:
        card = screen.load_card(store, int(merged["work_id"]))
        assert card is not None
        assert card.record_ids == (1, 2)
        assert (card.title, card.journal, card.year, card.doi) == (
            merged["title"],
            merged["journal"],
            merged["year"],
            merged["doi"],
        )
        assert card.title == MIXED
        assert [c.title for c in screen.load_cards(store, [int(merged["work_id"])])] == [MIXED]
