"""The one place column names live."""


class Columns:
    """Column names of the canonical interactions, id maps and snapshots."""

    USER_ID = "user_id"
    ITEM_ID = "item_id"
    USER_INDEX = "user_index"
    ITEM_INDEX = "item_index"
    WEIGHT = "weight"
    POSITION = "position"
    TIMESTAMP = "timestamp"
    PART = "part"
    RANK = "rank"
    SCORE = "score"
    BECAUSE_ITEM_ID = "because_item_id"
    LINE = "line"
    COLUMN = "column"
    REASON = "reason"
    RAW = "raw"


class Parts:
    """Codes of the ``part`` column written by the splitter."""

    NOT_EVALUATED = -1  # user below min_user_items: never evaluated
    TRAIN = 0
    VALIDATION = 1
    TEST = 2
