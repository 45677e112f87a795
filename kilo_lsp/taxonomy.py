"""The task taxonomy the router speaks in: task types and difficulty tiers.

One place so the classifier, the leaderboard builder, the policy and the docs agree.
"""

from __future__ import annotations

#: Task types, in the order the docs list them.
TASK_TYPES: tuple[str, ...] = (
    "explain",     # a question about code, an explanation; no edit expected
    "small_edit",  # rename, docstring, formatting, a one-line change
    "docs",        # documentation prose, README, comments at length
    "bugfix",      # fix a defect, often with a stack trace or failing test
    "test",        # write or fix tests
    "feature",     # implement new behaviour
    "refactor",    # restructure code, often across files, behaviour unchanged
    "perf",        # make something faster or lighter
    "build",       # build, CI, dependencies, configuration, chores
    "plan",        # planning, architecture, migration design
    "review",      # review a change or a piece of code
)

#: Difficulty tiers: 1 trivial, 2 moderate, 3 hard, 4 very hard.
DIFFICULTIES: tuple[int, ...] = (1, 2, 3, 4)

DIFFICULTY_LABELS: dict[int, str] = {
    1: "trivial (<15 min for a developer)",
    2: "moderate (15 min - 1 h)",
    3: "hard (1 - 4 h)",
    4: "very hard (> 4 h)",
}

#: SWE-bench Verified human buckets mapped onto the tiers.
SWEBENCH_BUCKETS: dict[str, int] = {
    "<15 min fix": 1,
    "15 min - 1 hour": 2,
    "1-4 hours": 3,
    ">4 hours": 4,
}

ANY_TYPE = "*"


def class_key(task_type: str, difficulty: int) -> str:
    """Leaderboard class key, such as ``bugfix:2`` or ``*:3`` (any task type)."""
    return f"{task_type}:{difficulty}"
